import { beforeEach, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { activate, deactivate } from '../src/extension';
import { READY_STATS, fakeContext, fakeFactory } from './fakes';
import { PREWARM_DELAY_MS } from '../src/prewarm';
import { InlineCompletionItem, Position, Selection, fakeDocument, stub } from './stub/vscode';

const at = (line: number, character: number): any => new Position(line, character);

const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));

beforeEach(async () => {
	await deactivate();
	stub.reset();
});

async function started(answers: Record<string, (params: any) => unknown> = {}) {
	const { factory, built } = fakeFactory(answers);
	const extension = activate(fakeContext(), factory);
	await extension.started;
	return { extension, built, client: built[built.length - 1] };
}

const any = undefined as any;

test('activation registers every contributed command and starts `codellama lsp` with the settings', async () => {
	stub.config = { model: '/models/cl-7b', fimFormat: 'spm', debounceMs: 50 };
	const { client, extension } = await started();
	for (const { command } of manifest.contributes.commands) {
		assert.ok(stub.commands.has(command), `${command} is registered`);
	}
	assert.deepEqual(client.setup.command, { command: 'codellama', args: ['lsp'] });
	assert.deepEqual(client.setup.initializationOptions, { model: '/models/cl-7b', fimFormat: 'spm', debounceMs: 50 });
	assert.equal(client.started, 1);
	assert.equal(extension.status.shown, 'ready');
	assert.match(stub.statusItems[0].tooltip ?? '', /model tiny/);
});

test('every contributed setting has the default the code assumes', () => {
	const properties = manifest.contributes.configuration.properties;
	assert.deepEqual(properties['codellama.server.command'].default, ['codellama', 'lsp']);
	assert.equal(properties['codellama.model'].default, 'auto');
	assert.equal(properties['codellama.maxNewTokens'].default, 64);
	assert.equal(properties['codellama.debounceMs'].default, 75);
	for (const key of Object.keys(properties)) {
		assert.match(key, /^codellama\./);
	}
});

test('the status follows the model: loading from stats and progress, an error when loading fails', async () => {
	const { extension } = await started({ 'codellama/stats': () => ({ model: { name: 'big', state: 'loading' } }) });
	assert.equal(extension.status.shown, 'loading');
	const middleware = extension.client && (extension.client as any).setup.middleware;
	middleware.handleWorkDoneProgress('t', { kind: 'end', message: 'cannot load model big: out of memory' }, () => undefined);
	assert.equal(extension.status.shown, 'error');
	assert.match(stub.statusItems[0].tooltip ?? '', /out of memory/);
	stub.commands.get('codellama.showLog')!();
	assert.equal(stub.outputShown, 1);
});

test('a server that cannot start, or that stops, shows an error', async () => {
	const { factory, built } = fakeFactory();
	const failing = (setup: any) => {
		const client = factory(setup);
		client.startError = new Error('spawn codellama ENOENT');
		return client;
	};
	const extension = activate(fakeContext(), failing);
	await extension.started;
	assert.equal(extension.status.shown, 'error');
	assert.match(stub.statusItems[0].tooltip ?? '', /ENOENT/);
	assert.equal(built.length, 1);

	const { extension: second, client } = await started();
	client.crash();
	assert.equal(second.status.shown, 'error');
	client.restarted();
	await new Promise(resolve => setImmediate(resolve));
	assert.equal(second.status.shown, 'ready');
});

test('a settings change is sent with didChangeConfiguration; a new server command restarts', async () => {
	const { built, client } = await started();
	await Promise.all(stub.changeSettings({ maxNewTokens: 16, languages: ['python'] }));
	assert.deepEqual(client.notifications, [['workspace/didChangeConfiguration',
		{ settings: { codellama: { maxNewTokens: 16, languages: ['python'] } } }]]);
	await Promise.all(stub.changeSettings({ 'server.python': '/venv/bin/python' }));
	assert.equal(client.stopped, 1);
	assert.equal(built.length, 2);
	assert.deepEqual(built[1].setup.command, { command: '/venv/bin/python', args: ['-m', 'codellama_lsp', 'lsp'] });
	assert.equal(built[1].started, 1);
});

test('only the settings the user set go to the server; a removed one goes back to its default', async () => {
	stub.config = { maxNewTokens: 32, device: 'cpu' };
	const { client } = await started();
	assert.deepEqual(client.setup.initializationOptions, { maxNewTokens: 32, device: 'cpu' });
	await Promise.all(stub.changeSettings({ maxNewTokens: undefined, contextWindow: 2048 }));
	assert.deepEqual(client.notifications, [['workspace/didChangeConfiguration',
		{ settings: { codellama: { device: 'cpu', contextWindow: 2048, maxNewTokens: 64 } } }]]);
});

test('the server asking for its configuration gets the mapped settings', async () => {
	stub.config = { model: 'm', enable: true };
	const { client } = await started();
	const answer = await client.setup.middleware.workspace!.configuration!(
		{ items: [{ section: 'codellama' }, { section: 'editor' }] }, any,
		() => [{ enable: true, model: 'm', server: {} }, { tabSize: 4 }]);
	assert.deepEqual(answer, [{ model: 'm' }, { tabSize: 4 }]);
});

test('Toggle Completions turns inline requests off and on', async () => {
	const { client, extension } = await started();
	const provide = client.setup.middleware.provideInlineCompletionItems!;
	let asked = 0;
	const next = async () => { asked += 1; return { items: [] }; };
	await stub.commands.get('codellama.toggle')!();
	assert.deepEqual(stub.configUpdates, [['codellama.enable', false, vscode.ConfigurationTarget.Global]]);
	assert.equal(extension.status.shown, 'off');
	assert.equal(await provide(fakeDocument('file:///a.py', '') as any, at(0, 0), any, any, next), null);
	assert.equal(asked, 0);
	await stub.commands.get('codellama.toggle')!();
	assert.equal(extension.status.shown, 'ready');
	await provide(fakeDocument('file:///a.py', '') as any, at(0, 0), any, any, next);
	assert.equal(asked, 1);
});

test('the status says generating while an inline request is in flight', async () => {
	const { client, extension } = await started();
	let answer!: (value: unknown) => void;
	const pending = client.setup.middleware.provideInlineCompletionItems!(
		fakeDocument('file:///a.py', 'x = ') as any, at(0, 4), any, any,
		() => new Promise(resolve => { answer = resolve; }) as any);
	assert.equal(extension.status.shown, 'generating');
	answer({ items: [] });
	await pending;
	assert.equal(extension.status.shown, 'ready');
});

test('Show Stats asks the server and shows the figures', async () => {
	const { client } = await started();
	await stub.commands.get('codellama.showStats')!();
	assert.deepEqual(client.requests.map(([method]) => method), ['codellama/stats', 'codellama/stats']);
	assert.deepEqual(stub.messages, [['info', 'Code Llama: 3 requests, 2 shown, 1 accepted, p50 42 ms; model tiny ready']]);
	assert.ok(stub.output.some(line => line.includes(JSON.stringify(READY_STATS.model.state))));
	assert.equal(stub.outputShown, 1);
});

test('accepting a word, then a line, tells the server the accepted length once each', async () => {
	const { client } = await started({ 'workspace/executeCommand': () => true });
	const document = fakeDocument('file:///a.py', 'x = ');
	stub.activeTextEditor = { document, selection: any };
	const item = new InlineCompletionItem('foo(bar)\nbaz', undefined,
		{ title: 'Accept', command: 'codellama.accept', arguments: [7] });
	await client.setup.middleware.provideInlineCompletionItems!(document as any, at(0, 4), any, any,
		async () => ({ items: [item as any] }));
	// VS Code's own partial accepts insert the text; ours report it.
	stub.commands.set('editor.action.inlineSuggest.acceptNextWord', () =>
		stub.documentChanged.fire({ document, contentChanges: [{ text: 'foo' }] }));
	stub.commands.set('editor.action.inlineSuggest.acceptNextLine', () =>
		stub.documentChanged.fire({ document, contentChanges: [{ text: '(bar)\n' }] }));
	await stub.commands.get('codellama.acceptNextWord')!();
	await stub.commands.get('codellama.acceptNextLine')!();
	const accepts = client.requests.filter(([method]) => method === 'workspace/executeCommand');
	assert.deepEqual(accepts.map(([, params]) => params), [
		{ command: 'codellama.accept', arguments: [7, 3] },
		{ command: 'codellama.accept', arguments: [7, 9] },
	]);
	// VS Code's own report through the provider's hook (its proposed API): a length already
	// told sends nothing more, a longer one sends the new length.
	client.hook!(item as any, 9);
	client.hook!(item as any, 12);
	await new Promise(resolve => setImmediate(resolve));
	assert.deepEqual(client.requests.filter(([method]) => method === 'workspace/executeCommand').map(([, p]) => p),
		[...accepts.map(([, p]) => p), { command: 'codellama.accept', arguments: [7, 12] }]);
});

test('a resting cursor and a newly active editor are sent to the server to pre-warm, once each', async () => {
	const { client } = await started();
	mock.timers.enable({ apis: ['setTimeout'] });
	try {
		const document = fakeDocument('file:///w/rest.py', 's = "😀"\nx = 1\n');
		const editor = (line: number, character: number) =>
			({ document, selection: new Selection(at(line, character), at(line, character)) });
		const prewarms = () => client.notifications.filter(([method]) => method === 'codellama/prewarm');
		stub.selectionChanged.fire({ textEditor: editor(0, 1) });
		stub.selectionChanged.fire({ textEditor: editor(0, 7) }); // moved on before the rest
		mock.timers.tick(PREWARM_DELAY_MS - 1);
		assert.deepEqual(prewarms(), []);
		mock.timers.tick(1);
		assert.deepEqual(prewarms(), [['codellama/prewarm',
			{ textDocument: { uri: 'file:///w/rest.py' }, position: { line: 0, character: 7 } }]]);
		stub.activeEditorChanged.fire(editor(1, 2));
		mock.timers.tick(PREWARM_DELAY_MS);
		assert.deepEqual(prewarms().at(-1)![1], { textDocument: { uri: 'file:///w/rest.py' }, position: { line: 1, character: 2 } });
		// Not for documents the server never sees, nor with completions off.
		stub.activeEditorChanged.fire({ document: fakeDocument('output:///log', ''), selection: new Selection(at(0, 0), at(0, 0)) });
		stub.config = { enable: false };
		stub.selectionChanged.fire({ textEditor: editor(1, 0) });
		mock.timers.tick(PREWARM_DELAY_MS);
		assert.equal(prewarms().length, 2);
	} finally {
		mock.timers.reset();
	}
});

test('a slow start, Restart Server and a new server command never show an error', async () => {
	let open!: () => void;
	const gate = new Promise<void>(resolve => { open = resolve; });
	const { factory, built } = fakeFactory();
	const slow = (setup: any) => {
		const client = factory(setup);
		client.startGate = gate; // a server command that takes seconds to start
		return client;
	};
	const extension = activate(fakeContext(), slow);
	const shown: string[] = [];
	const record = extension.status.set.bind(extension.status);
	extension.status.set = (state, detail) => { record(state, detail); shown.push(extension.status.shown); };
	await new Promise(resolve => setImmediate(resolve));
	assert.equal(extension.status.shown, 'starting'); // still starting: not red
	open();
	await extension.started;
	await stub.commands.get('codellama.restart')!();
	await Promise.all(stub.changeSettings({ 'server.python': '/venv/bin/python' }));
	assert.equal(built.length, 3);
	assert.equal(extension.status.shown, 'ready');
	assert.ok(!shown.includes('error'), shown.join(' '));
});

test('with showInfo the status item says what the shown suggestion cost; without, nothing', async () => {
	const last = { item_ids: [7], ms: 84.6, generated_tokens: 12, prompt_tokens: 1100,
		reused_prompt_tokens: 1020, cached: false };
	stub.config = { showInfo: true };
	const { client, extension } = await started({ 'codellama/stats': () => ({ ...READY_STATS, last_answer: last }) });
	const document = fakeDocument('file:///a.py', 'x = ');
	const item = new InlineCompletionItem('foo', undefined,
		{ title: 'Accept', command: 'codellama.accept', arguments: [7] });
	await client.setup.middleware.provideInlineCompletionItems!(document as any, at(0, 4), any, any,
		async () => ({ items: [item as any] }));
	await new Promise(resolve => setImmediate(resolve));
	assert.equal(stub.statusItems[0].text, '$(check) Code Llama 12 tokens, 85 ms, 1020/1100 prompt ids reused');
	assert.deepEqual(stub.executed.filter(([id]) => id === 'setContext').at(-1),
		['setContext', ['codellama.suggestionShown', true]]);
	await Promise.all(stub.changeSettings({ showInfo: false }));
	assert.equal(stub.statusItems[0].text, '$(check) Code Llama');
	assert.equal(extension.status.shown, 'ready');
});
