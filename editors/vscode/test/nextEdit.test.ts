// Next-edit suggestions (src/nextEdit.ts) with the stubbed `vscode` module: first against a
// server double, then against the real Python server with `nextEdits: "rules"` (a rename at one
// occurrence suggests the others, model-free, so the answer is deterministic).
// CODELLAMA_PYTHON names the interpreter (default python3).
import { after, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as rpc from 'vscode-jsonrpc/node';
import {
	ACCEPT_COMMAND,
	DID_SHOW_METHOD,
	INLINE_EDIT_METHOD,
	InlineEdit,
	NextEdits,
	VISIBLE_KEY,
	shapeOf,
} from '../src/nextEdit';
import { activate, deactivate } from '../src/extension';
import { fakeContext, fakeFactory } from './fakes';
import { Position, Selection, fakeDocument, stub } from './stub/vscode';

const SOURCE = 'def total(items):\n    count = 0\n    for item in items:\n        count += item.count\n'
	+ '    print(count)\n    return count\n\ncount = 3\n';
const RENAMED_FIRST = SOURCE.replace('count = 0', 'n = 0');
const RENAMED = RENAMED_FIRST.replace('count +=', 'n +=').replace('print(count)', 'print(n)')
	.replace('return count', 'return n');
/** The server's answer to the rename: the other occurrences in the function. */
const EDIT: InlineEdit = {
	text: 'n += item.count\n    print(n)\n    return n',
	textDocument: { uri: 'file:///src/total.py', version: 7 },
	range: { start: { line: 3, character: 8 }, end: { line: 5, character: 16 } },
	command: { title: 'Accept next edit', command: 'codellama.acceptNextEdit', arguments: ['next-edit-1'] },
};

/** A text editor double: the document, the cursor, and the decorations set on it. */
function fakeEditor(text: string, version: number, line = 1, character = 5) {
	const document = fakeDocument(EDIT.textDocument.uri, text, version) as ReturnType<typeof fakeDocument>
		& { version: number };
	const decorations = new Map<any, any[]>();
	const editor = {
		document,
		selection: new Selection(new Position(line, character), new Position(line, character)),
		setDecorations: (type: any, ranges: any[]) => { decorations.set(type, ranges); },
		revealRange: () => undefined,
		decorations,
		/** The decorations of the kind whose options have `key`. */
		shown: (key: string) => [...decorations].filter(([type]) => key in type.options).flatMap(([, r]) => r),
	};
	stub.activeTextEditor = editor as any;
	return editor;
}

function fakeServer(answer: (params: any) => unknown) {
	const requests: [string, any][] = [];
	const notifications: [string, any][] = [];
	return {
		requests,
		notifications,
		async sendRequest<R>(method: string, params: unknown): Promise<R> {
			requests.push([method, params]);
			return await answer(params) as R;
		},
		notify(method: string, params: unknown): void {
			notifications.push([method, params]);
		},
	};
}

function applyReplacement(text: string, replacement: { range: any; newText: string }): string {
	const lines = text.split('\n');
	const offset = (p: { line: number; character: number }) =>
		lines.slice(0, p.line).reduce((n, line) => n + line.length + 1, 0) + p.character;
	return text.slice(0, offset(replacement.range.start)) + replacement.newText
		+ text.slice(offset(replacement.range.end));
}

beforeEach(() => stub.reset());

test('the shape of an edit: changed lines with their deleted parts, or a block of lines', () => {
	const lines = RENAMED_FIRST.split('\n');
	const shape = shapeOf(EDIT, line => lines[line]);
	assert.deepEqual(shape.lines.map(({ line, deleteFrom, deleteTo, becomes }) =>
		[line, lines[line].slice(deleteFrom, deleteTo), becomes]), [
		[3, 'count', '        n += item.count'],
		[4, 'count', '    print(n)'],
		[5, 'count', '    return n'],
	]);
	const inserted = shapeOf({ ...EDIT, text: '\n    log(n)', range: { start: { line: 1, character: 9 },
		end: { line: 1, character: 9 } } }, line => lines[line]);
	assert.deepEqual(inserted, { lines: [], block: { first: 2, last: 1, becomes: ['    log(n)'] } });
});

test('a next edit is asked for with the version, drawn, and its showing told to the server', async () => {
	const editor = fakeEditor(RENAMED_FIRST, 7);
	const server = fakeServer(() => ({ edits: [EDIT] }));
	const nextEdits = new NextEdits(server);
	assert.equal(await nextEdits.request(editor as any), true);
	assert.deepEqual(server.requests, [[INLINE_EDIT_METHOD, {
		textDocument: { uri: EDIT.textDocument.uri, version: 7 }, position: { line: 1, character: 5 } }]]);
	const lines = RENAMED_FIRST.split('\n');
	assert.deepEqual(editor.shown('textDecoration').map(({ range }) =>
		[range.start.line, lines[range.start.line].slice(range.start.character, range.end.character)]),
	[[3, 'count'], [4, 'count'], [5, 'count']]);
	assert.deepEqual(editor.shown('after').map(option => option.renderOptions.after.contentText),
		['→         n += item.count', '→     print(n)', '→     return n']);
	assert.deepEqual(server.notifications, [[DID_SHOW_METHOD, { item: EDIT }]]);
	assert.deepEqual(stub.executed.at(-1), ['setContext', [VISIBLE_KEY, true]]);
});

test('Tab jumps to the edit, a second Tab applies it as one WorkspaceEdit and reports the accept', async () => {
	const editor = fakeEditor(RENAMED_FIRST, 7);
	const server = fakeServer(params => params.command ? true : { edits: [EDIT] });
	const nextEdits = new NextEdits(server);
	for (const disposable of nextEdits.register()) {
		void disposable; // the commands are in the stub now
	}
	await nextEdits.request(editor as any);
	assert.equal(await stub.commands.get(ACCEPT_COMMAND)!(), true);
	assert.deepEqual(editor.selection.active, new Position(3, 8)); // on the first deleted part
	assert.equal(stub.appliedEdits.length, 0);
	nextEdits.selectionChanged(editor as any); // the jump itself keeps it shown
	assert.ok(nextEdits.shown);
	assert.equal(await stub.commands.get(ACCEPT_COMMAND)!(), true);
	const [applied] = stub.appliedEdits;
	assert.equal(applied.replacements.length, 1);
	assert.equal(applyReplacement(RENAMED_FIRST, applied.replacements[0]), RENAMED);
	assert.deepEqual(server.requests.at(-1), ['workspace/executeCommand',
		{ command: 'codellama.acceptNextEdit', arguments: ['next-edit-1'] }]);
	assert.equal(nextEdits.shown, undefined);
	assert.deepEqual(editor.shown('textDecoration'), []);
	assert.deepEqual(stub.executed.at(-1), ['setContext', [VISIBLE_KEY, false]]);
	nextEdits.dispose();
});

test('a document changed since the edit was made never gets it', async () => {
	const editor = fakeEditor(RENAMED_FIRST, 7, 3, 0);
	const server = fakeServer(() => ({ edits: [EDIT] }));
	const nextEdits = new NextEdits(server);
	await nextEdits.request(editor as any);
	editor.document.version = 8; // a change not seen yet
	assert.equal(await nextEdits.accept(), false);
	assert.equal(stub.appliedEdits.length, 0);
	assert.match(stub.messages[0][1], /changed since the next edit was made; nothing was applied/);
	assert.equal(server.requests.filter(([method]) => method === 'workspace/executeCommand').length, 0);
	// An answer for another version than the one asked for is not shown.
	const stale = fakeServer(() => ({ edits: [{ ...EDIT, textDocument: { ...EDIT.textDocument, version: 6 } }] }));
	assert.equal(await new NextEdits(stale).request(fakeEditor(RENAMED_FIRST, 7) as any), false);
});

test('Escape dismisses; moving the cursor away clears; a change asks again after the pause', async () => {
	const editor = fakeEditor(RENAMED_FIRST, 7);
	const server = fakeServer(() => ({ edits: [EDIT] }));
	const nextEdits = new NextEdits(server);
	await nextEdits.request(editor as any);
	assert.equal(nextEdits.dismiss(), true);
	assert.equal(nextEdits.shown, undefined);
	assert.deepEqual(editor.shown('after'), []);

	await nextEdits.request(editor as any);
	editor.selection = new Selection(new Position(2, 0), new Position(2, 0)); // toward the edit
	nextEdits.selectionChanged(editor as any);
	assert.ok(nextEdits.shown);
	editor.selection = new Selection(new Position(7, 0), new Position(7, 0)); // away
	nextEdits.selectionChanged(editor as any);
	assert.equal(nextEdits.shown, undefined);

	stub.config.nextEditDelayMs = 5;
	const asked = server.requests.length;
	nextEdits.documentChanged(editor.document as any);
	nextEdits.documentChanged(editor.document as any); // the next keystroke restarts the pause
	await new Promise(resolve => setTimeout(resolve, 50)); // past the pause: one request
	assert.equal(server.requests.length, asked + 1);
	stub.config.nextEdits = 'off';
	nextEdits.documentChanged(editor.document as any);
	await new Promise(resolve => setTimeout(resolve, 50));
	assert.equal(server.requests.length, asked + 1); // switched off: none
	nextEdits.dispose();
});

test('no next edits where suggestions are off; Toggle and Toggle for This File clear one shown', async () => {
	const { factory, built } = fakeFactory({ [INLINE_EDIT_METHOD]: () => ({ edits: [EDIT] }) });
	const extension = activate(fakeContext(), factory);
	await extension.started;
	const asked = () => built[0].requests.filter(([method]) => method === INLINE_EDIT_METHOD).length;
	const editor = fakeEditor(RENAMED_FIRST, 7);
	const nextEdits = extension.nextEdits;
	const offThenOn = async (off: () => unknown, on: () => unknown) => {
		assert.equal(await nextEdits.request(editor as any), true, 'shown while on');
		await off();
		assert.equal(nextEdits.shown, undefined);
		assert.deepEqual(editor.shown('after'), [], 'nothing left on screen');
		const before = asked();
		assert.equal(await nextEdits.request(editor as any), false);
		assert.equal(asked(), before, 'nothing asked while off');
		await on();
	};
	await offThenOn(() => stub.commands.get('codellama.toggleFile')!(),
		() => stub.commands.get('codellama.toggleFile')!());
	await offThenOn(() => stub.commands.get('codellama.toggle')!(),
		() => stub.commands.get('codellama.toggle')!());
	await offThenOn(() => { stub.config.disabledLanguages = ['python']; nextEdits.clear(); },
		() => { stub.config.disabledLanguages = []; });
	await offThenOn(() => { stub.config.excludeFiles = ['total.py']; nextEdits.clear(); },
		() => { stub.config.excludeFiles = []; });
	assert.equal(await nextEdits.request(editor as any), true, 'on again');
	await deactivate();
});

// -- against the real server ----------------------------------------------------------------------

const PYTHON = process.env.CODELLAMA_PYTHON || 'python3';

function repoRoot(): string {
	let dir = __dirname;
	while (!existsSync(join(dir, 'pyproject.toml'))) {
		const parent = dirname(dir);
		assert.notEqual(parent, dir, 'the repository root (pyproject.toml) is above editors/vscode');
		dir = parent;
	}
	return dir;
}

let server: ChildProcess | undefined;
let connection: rpc.MessageConnection | undefined;
const work = mkdtempSync(join(tmpdir(), 'codellama-next-edit-'));

after(async () => {
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

async function startServer(): Promise<rpc.MessageConnection> {
	const root = repoRoot();
	const env = { ...process.env, PYTHONPATH: root, HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1',
		HF_HUB_DISABLE_PROGRESS_BARS: '1', OMP_NUM_THREADS: '1' };
	const tiny = join(work, 'tiny');
	execFileSync(PYTHON, ['-m', 'codellama_lsp', 'make-tiny-model', tiny], { env, cwd: root, stdio: 'ignore' });
	server = spawn(PYTHON, ['-m', 'codellama_lsp', 'lsp'], { env, cwd: work, stdio: ['pipe', 'pipe', 'ignore'] });
	const rpcConnection = rpc.createMessageConnection(new rpc.StreamMessageReader(server.stdout!),
		new rpc.StreamMessageWriter(server.stdin!));
	rpcConnection.onRequest('window/workDoneProgress/create', () => null);
	rpcConnection.onRequest('client/registerCapability', () => null);
	rpcConnection.onNotification('window/logMessage', () => undefined);
	rpcConnection.onNotification('window/showMessage', () => undefined);
	rpcConnection.onNotification('$/progress', () => undefined);
	rpcConnection.listen();
	connection = rpcConnection;
	await rpcConnection.sendRequest('initialize', {
		processId: process.pid, rootUri: null,
		capabilities: { workspace: { executeCommand: {} }, textDocument: { synchronization: {} } },
		initializationOptions: { model: tiny, nextEdits: 'rules', nextEditDelayMs: 20 },
	});
	await rpcConnection.sendNotification('initialized', {});
	return rpcConnection;
}

test('against the real server: a rename at one occurrence is shown and applied for the others', async () => {
	const rpcConnection = await startServer();
	const uri = EDIT.textDocument.uri;
	await rpcConnection.sendNotification('textDocument/didOpen', {
		textDocument: { uri, languageId: 'python', version: 1, text: SOURCE } });
	// As VS Code sends it: the first `count` deleted, then `n` typed.
	await rpcConnection.sendNotification('textDocument/didChange', { textDocument: { uri, version: 2 },
		contentChanges: [{ range: { start: { line: 1, character: 4 }, end: { line: 1, character: 9 } }, text: '' }] });
	await rpcConnection.sendNotification('textDocument/didChange', { textDocument: { uri, version: 3 },
		contentChanges: [{ range: { start: { line: 1, character: 4 }, end: { line: 1, character: 4 } }, text: 'n' }] });
	const editor = fakeEditor(RENAMED_FIRST, 3, 1, 5);
	const nextEdits = new NextEdits({
		sendRequest: (method, params) => rpcConnection.sendRequest(method, params),
		notify: (method, params) => void rpcConnection.sendNotification(method, params),
	});
	assert.equal(await nextEdits.request(editor as any), true, 'a next edit is shown');
	assert.equal(editor.shown('textDecoration').length, 3);
	await nextEdits.accept(); // jump
	assert.equal(await nextEdits.accept(), true); // apply
	const [applied] = stub.appliedEdits;
	assert.equal(applyReplacement(RENAMED_FIRST, applied.replacements[0]), RENAMED);
	const stats = async () => (await rpcConnection.sendRequest<{ next_edits: Record<string, number> }>(
		'codellama/stats', {})).next_edits;
	for (let tries = 0; (await stats()).accepted < 1 && tries < 100; tries++) {
		await new Promise(resolve => setTimeout(resolve, 50)); // the accept command is not awaited
	}
	const figures = await stats();
	assert.equal(figures.shown, 1);
	assert.equal(figures.accepted, 1);
	nextEdits.dispose();
});
