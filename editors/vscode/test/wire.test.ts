// The real Python server (`python -m codellama_lsp lsp`) with a tiny random model, driven over
// stdio with vscode-jsonrpc, the library under vscode-languageclient; the extension's own code
// (settings mapping, status, partial accepts, Edit Selection) runs against it with the stubbed
// `vscode` module. CODELLAMA_PYTHON names the interpreter (default python3).
//
// The instruct model is a copy of the tiny model with its output layer zeroed: every logit is 0,
// so greedy decoding always picks id 0 (" ⁇ ") and the edit is the same for any prompt
// (tests/codellama_lsp/lsp/test_lsp_edits.py does the same).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as rpc from 'vscode-jsonrpc/node';
import { AcceptanceTracker } from '../src/acceptance';
import { editSelection } from '../src/edit';
import { activate, deactivate } from '../src/extension';
import { serverCommand, serverSettings } from '../src/settings';
import { StatusItem, stateOfModel, stateOfProgress } from '../src/status';
import {
	InlineCompletionItem,
	InlineCompletionTriggerKind,
	Position,
	Selection,
	StatusBarAlignment,
	fakeDocument,
	stub,
	window,
} from './stub/vscode';

const PYTHON = process.env.CODELLAMA_PYTHON || 'python3';
const SOURCE = 'import os\n\ndef area(w, h):\n    return w * h\n';

function repoRoot(): string {
	let dir = __dirname;
	while (!existsSync(join(dir, 'pyproject.toml'))) {
		const parent = dirname(dir);
		assert.notEqual(parent, dir, 'the repository root (pyproject.toml) is above editors/vscode');
		dir = parent;
	}
	return dir;
}

const root = repoRoot();
const env = { ...process.env, PYTHONPATH: root, HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1',
	HF_HUB_DISABLE_PROGRESS_BARS: '1', OMP_NUM_THREADS: '1' };
const work = mkdtempSync(join(tmpdir(), 'codellama-vscode-'));
let server: ChildProcess;
let connection: rpc.MessageConnection;
let stderr = '';
const progress: { kind: string; message?: string; title?: string }[] = [];
let loaded!: Promise<void>;
let constantMade!: Promise<void>;

/** The tiny model, then (while the server starts and loads it) its constant copy. */
let models!: { tiny: string; constant: string };

function makeModels(): { tiny: string; constant: string } {
	const tiny = join(work, 'tiny');
	const constant = join(work, 'constant');
	execFileSync(PYTHON, ['-m', 'codellama_lsp', 'make-tiny-model', tiny],
		{ env, cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
	constantMade = new Promise((resolve, reject) => execFile(PYTHON, ['-c', [
		'import shutil, sys, torch',
		'from transformers import LlamaForCausalLM',
		'shutil.copytree(sys.argv[1], sys.argv[2])',
		'model = LlamaForCausalLM.from_pretrained(sys.argv[1])',
		'torch.nn.init.zeros_(model.lm_head.weight)',
		'model.save_pretrained(sys.argv[2])',
	].join('\n'), tiny, constant], { env, cwd: root }, error => error ? reject(error) : resolve()));
	return { tiny, constant };
}

before(async () => {
	models = makeModels();
	const { tiny, constant } = models;
	// The command and settings exactly as the extension builds them from its settings.
	const config: Record<string, unknown> = {
		'server.python': PYTHON, model: tiny, instructModel: constant, debounceMs: 0, maxNewTokens: 12,
		'server.settings': { editMaxNewTokens: 12, device: 'cpu' },
	};
	const reader = {
		get: <T>(key: string) => config[key] as T | undefined,
		inspect: <T>(key: string) => ({ globalValue: config[key] as T | undefined }),
	};
	const { command, args } = serverCommand(reader);
	server = spawn(command, args, { env, cwd: work, stdio: ['pipe', 'pipe', 'pipe'] });
	server.stderr!.on('data', chunk => { stderr += chunk; });
	connection = rpc.createMessageConnection(new rpc.StreamMessageReader(server.stdout!),
		new rpc.StreamMessageWriter(server.stdin!));
	let done!: () => void;
	loaded = new Promise(resolve => { done = resolve; });
	connection.onRequest('window/workDoneProgress/create', () => null);
	connection.onRequest('client/registerCapability', () => null);
	connection.onNotification('window/logMessage', () => undefined);
	connection.onNotification('window/showMessage', () => undefined);
	connection.onNotification('$/progress', (params: { value: { kind: string } }) => {
		progress.push(params.value);
		if (params.value.kind === 'end') {
			done();
		}
	});
	connection.listen();
	const result = await connection.sendRequest<{ capabilities: Record<string, unknown> }>('initialize', {
		processId: process.pid,
		rootUri: null,
		capabilities: {
			window: { workDoneProgress: true },
			workspace: { applyEdit: true, workspaceEdit: { documentChanges: true }, executeCommand: {} },
			textDocument: { inlineCompletion: { dynamicRegistration: true }, synchronization: {} },
		},
		initializationOptions: serverSettings(reader),
	});
	assert.ok(result.capabilities.inlineCompletionProvider, 'the server offers inline completion');
	await connection.sendNotification('initialized', {});
});

after(async () => {
	await deactivate();
	try {
		await connection?.sendRequest('shutdown');
		await connection?.sendNotification('exit');
	} catch {
		// the process may be gone already
	}
	connection?.dispose();
	server?.kill();
	rmSync(work, { recursive: true, force: true });
});

test('the server reports loading with $/progress and the status item follows it to ready', async () => {
	await loaded;
	stub.reset();
	const status = new StatusItem(window.createStatusBarItem(StatusBarAlignment.Right, 100) as any);
	const shown: string[] = [];
	for (const value of progress) {
		status.set(...stateOfProgress(value)!);
		shown.push(status.shown);
	}
	assert.deepEqual(shown, ['loading', 'ready'], stderr);
	const stats = await connection.sendRequest<{ model: { state: string; name: string } }>('codellama/stats', {});
	status.set(...stateOfModel(stats.model));
	assert.equal(status.shown, 'ready');
});

test('an inline completion comes back with the accept command; a partial accept is told', async () => {
	await loaded;
	const uri = 'file:///wire/forward.py';
	await connection.sendNotification('textDocument/didOpen', {
		textDocument: { uri, languageId: 'python', version: 1, text: 'x = 1\n' },
	});
	const answer = await connection.sendRequest<{ items: any[] }>('textDocument/inlineCompletion', {
		textDocument: { uri }, position: { line: 1, character: 0 }, context: { triggerKind: 2 },
	});
	assert.equal(answer.items.length, 1, stderr);
	const [item] = answer.items;
	assert.equal(typeof item.insertText, 'string');
	assert.ok(item.insertText.length > 2);
	assert.deepEqual(item.range.start, { line: 1, character: 0 });
	assert.equal(item.command.command, 'codellama.accept');
	assert.equal(typeof item.command.arguments[0], 'number');

	// What the extension does on "accept next word": [item_id, accepted_length] to the server.
	const sent: unknown[][] = [];
	const tracker = new AcceptanceTracker(async (command, args) => {
		sent.push(args);
		return connection.sendRequest('workspace/executeCommand', { command, arguments: args });
	});
	tracker.remember(uri, [new InlineCompletionItem(item.insertText, undefined, item.command) as any]);
	await tracker.insertedFromSuggestion(uri, item.insertText.slice(0, 2));
	assert.deepEqual(sent, [[item.command.arguments[0], 2]]);
	// A whole accept runs the item's own command, as VS Code does.
	await connection.sendRequest('workspace/executeCommand', item.command);
	const stats = await connection.sendRequest<{ accepted: number; requests: number }>('codellama/stats', {});
	assert.equal(stats.accepted, 1);
	assert.ok(stats.requests >= 1);
});

test('Edit Selection against the server applies its edits as one WorkspaceEdit', async () => {
	await loaded;
	await constantMade; // the instruct model loads on the first edit
	stub.reset();
	const uri = 'file:///wire/area.py';
	await connection.sendNotification('textDocument/didOpen', {
		textDocument: { uri, languageId: 'python', version: 3, text: SOURCE },
	});
	const document = fakeDocument(uri, SOURCE, 3);
	stub.activeTextEditor = { document, selection: new Selection(new Position(2, 0), new Position(3, 16)) };
	stub.inputAnswers.push('add type hints');
	const applied = await editSelection(connection);
	assert.deepEqual(stub.messages, [], stderr);
	assert.equal(applied, true);
	assert.equal(stub.appliedEdits.length, 1);
	const { replacements } = stub.appliedEdits[0];
	assert.ok(replacements.length >= 1);
	for (const { uri: target, range, newText } of replacements) {
		assert.equal(target.toString(), uri);
		assert.ok(range.start.line >= 2 && range.end.line <= 4, 'only the selected lines change');
		assert.match(newText, /⁇/); // the constant model's answer
	}
});

test('an edit of an unknown document is a clean error, shown in one line', async () => {
	await loaded;
	await constantMade;
	stub.reset();
	const document = fakeDocument('file:///wire/never-opened.py', SOURCE, 1);
	stub.activeTextEditor = { document, selection: new Selection(new Position(2, 0), new Position(3, 16)) };
	stub.inputAnswers.push('add type hints');
	assert.equal(await editSelection(connection), false);
	assert.equal(stub.messages.length, 1);
	assert.equal(stub.messages[0][0], 'error');
	assert.match(stub.messages[0][1], /^Code Llama: .*never-opened/);
	assert.equal(stub.appliedEdits.length, 0);
});

async function until(condition: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!condition()) {
		assert.ok(Date.now() < deadline, `timed out waiting for ${what}\n${stub.output.join('\n')}`);
		await new Promise(resolve => setTimeout(resolve, 50));
	}
}

test('the extension itself, through vscode-languageclient: status, ghost text, accept, edit, a bad model', async () => {
	await loaded;
	await constantMade;
	stub.reset();
	Object.assign(process.env, env); // the client passes its environment on to the server
	stub.config = {
		'server.python': PYTHON, model: models.tiny, instructModel: models.constant, debounceMs: 0,
		maxNewTokens: 12, 'server.settings': { editMaxNewTokens: 12, device: 'cpu' },
	};
	const document = fakeDocument('file:///wire/client.py', 'x = 1\n', 1);
	stub.openDocuments.push(document);
	const extension = activate({ subscriptions: [] } as any);
	await extension.started;
	await until(() => extension.status.shown === 'ready', 'the model to load');
	assert.ok(stub.output.some(line => line.includes('loading')), 'the server log is in the output channel');

	// Ghost text: VS Code asks the provider the client registered; the status shows generating.
	assert.equal(stub.inlineProviders.length, 1);
	const token = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose() { } }) };
	const pending = stub.inlineProviders[0].provideInlineCompletionItems(document, new Position(1, 0),
		{ triggerKind: InlineCompletionTriggerKind.Automatic, selectedCompletionInfo: undefined }, token);
	assert.equal(extension.status.shown, 'generating');
	const list = await pending;
	assert.equal(extension.status.shown, 'ready');
	assert.equal(list.items.length, 1);
	const [item] = list.items;
	assert.ok(typeof item.insertText === 'string' && item.insertText.length > 0);
	assert.equal(item.command.command, 'codellama.accept');

	// VS Code's partial-accept hook (proposed API) is on the client's provider: it reports the
	// length; a whole accept runs the item's command, registered by the client from the server's.
	const provider = stub.inlineProviders[0];
	assert.equal(typeof provider.handleDidPartiallyAcceptCompletionItem, 'function');
	provider.handleDidPartiallyAcceptCompletionItem(item, { kind: 0, acceptedLength: 1 });
	await stub.commands.get(item.command.command)!(...item.command.arguments);
	await stub.commands.get('codellama.showStats')!();
	assert.match(stub.messages.at(-1)![1], /1 shown, 1 accepted/);

	// Edit Selection, from the command palette.
	const area = fakeDocument('file:///wire/client-area.py', SOURCE, 1);
	stub.openDocuments.push(area);
	stub.documentOpened.fire(area);
	stub.activeTextEditor = { document: area, selection: new Selection(new Position(2, 0), new Position(3, 16)) };
	stub.inputAnswers.push('add type hints');
	assert.equal(await stub.commands.get('codellama.editSelection')!(), true, stub.messages.join('\n'));
	assert.equal(stub.appliedEdits.length, 1);

	// A model that does not load: the settings change reaches the server, the status turns red.
	await Promise.all(stub.changeSettings({ model: join(work, 'no-such-model') }));
	await until(() => extension.status.shown === 'error', 'the status to show the failed load');
	assert.match(stub.statusItems[0].tooltip ?? '', /cannot load model .*no-such-model/);
	await deactivate();
});

test('Alt+\\ (VS Code\'s trigger: an invoked request) gets up to 3 distinct suggestions; typing gets one', async () => {
	await loaded;
	stub.reset();
	Object.assign(process.env, env); // the client passes its environment on to the server
	stub.config = { 'server.python': PYTHON, model: models.tiny, debounceMs: 0, maxNewTokens: 12,
		'server.settings': { device: 'cpu' } };
	const document = fakeDocument('file:///wire/invoked.py', 'def add(a, b):\n    return \n\nprint(add(1, ))\n', 1);
	stub.openDocuments.push(document);
	const extension = activate({ subscriptions: [] } as any);
	await extension.started;
	// The server's own word that the model is loaded (the status item can say ready a moment early).
	const state = async () => (await extension.sendRequest<{ model?: { state?: string } }>(
		'codellama/stats', {})).model?.state;
	for (let tries = 0; await state() !== 'ready'; tries++) {
		assert.ok(tries < 1200, 'the model loads');
		await new Promise(resolve => setTimeout(resolve, 100));
	}
	const token = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose() { } }) };
	const ask = (triggerKind: InlineCompletionTriggerKind) => stub.inlineProviders[0]
		.provideInlineCompletionItems(document, new Position(3, 13), { triggerKind, selectedCompletionInfo: undefined },
			token);
	// editor.action.inlineSuggest.trigger (Alt+\) makes VS Code ask with triggerKind Invoke.
	const invoked: string[] = (await ask(InlineCompletionTriggerKind.Invoke)).items.map((i: any) => i.insertText);
	assert.ok(invoked.length >= 2 && invoked.length <= 3, `VS Code shows "1/n": ${JSON.stringify(invoked)}`);
	assert.equal(new Set(invoked).size, invoked.length, 'each suggestion differs');
	assert.ok(invoked.every(text => typeof text === 'string' && text.length > 0));
	const automatic = (await ask(InlineCompletionTriggerKind.Automatic)).items;
	assert.equal(automatic.length, 1, 'an automatic trigger gets its one greedy suggestion');
	assert.equal(extension.status.shown, 'ready');
	await deactivate();
});
