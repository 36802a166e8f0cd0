import { beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { applyEditResult, editSelection } from '../src/edit';
import { activate, deactivate } from '../src/extension';
import { fakeContext, fakeFactory } from './fakes';
import { Position, Selection, fakeDocument, stub } from './stub/vscode';

const SOURCE = 'import os\n\ndef area(w, h):\n    return w * h\n';
const EDIT = { range: { start: { line: 2, character: 0 }, end: { line: 3, character: 16 } },
	newText: 'def area(w: float, h: float) -> float:\n    return w * h' };

beforeEach(async () => {
	await deactivate();
	stub.reset();
});

function editor(version = 1, anchor = new Position(2, 0), active = new Position(3, 16)) {
	const document = fakeDocument('file:///src/area.py', SOURCE, version);
	stub.activeTextEditor = { document, selection: new Selection(anchor, active) };
	return document;
}

function server(answer: (params: any) => unknown) {
	const requests: [string, any][] = [];
	return {
		requests,
		async sendRequest<R>(method: string, params: unknown): Promise<R> {
			requests.push([method, params]);
			return await answer(params) as R;
		},
	};
}

test('Edit Selection asks for the instruction, sends codellama/edit and applies one WorkspaceEdit', async () => {
	editor(4);
	stub.inputAnswers.push('  add type hints ');
	const client = server(() => ({ edits: [EDIT], version: 4 }));
	assert.equal(await editSelection(client), true);
	assert.deepEqual(client.requests, [['codellama/edit', {
		textDocument: { uri: 'file:///src/area.py' },
		range: { start: { line: 2, character: 0 }, end: { line: 3, character: 16 } },
		instruction: 'add type hints',
	}]]);
	assert.equal(stub.appliedEdits.length, 1);
	const [replacement] = stub.appliedEdits[0].replacements;
	assert.equal(replacement.uri.toString(), 'file:///src/area.py');
	assert.deepEqual([replacement.range.start, replacement.range.end], [new Position(2, 0), new Position(3, 16)]);
	assert.equal(replacement.newText, EDIT.newText);
	assert.deepEqual(stub.messages, []);
});

test('an edit computed for another version of the document is not applied', async () => {
	const document = editor(5);
	assert.equal(await applyEditResult(document as any, { edits: [EDIT], version: 4 }), false);
	assert.equal(stub.appliedEdits.length, 0);
	assert.match(stub.messages[0][1], /document changed while the edit was computed/);
});

test('without a selection the cursor\'s line is edited; an empty instruction sends nothing', async () => {
	editor(1, new Position(3, 5), new Position(3, 5));
	const client = server(() => ({ edits: [], version: 1 }));
	stub.inputAnswers.push('');
	assert.equal(await editSelection(client), false);
	assert.equal(client.requests.length, 0);
	stub.inputAnswers.push('use math.prod');
	await editSelection(client);
	assert.deepEqual(client.requests[0][1].range, { start: { line: 3, character: 0 }, end: { line: 3, character: 16 } });
	assert.match(stub.messages[0][1], /no change/);
	assert.equal(stub.appliedEdits.length, 0);
});

test('a server error is shown in one line and nothing is applied', async () => {
	editor();
	stub.inputAnswers.push('add type hints');
	const client = server(() => { throw Object.assign(new Error('no usable code in the model\'s answer'), { code: -32803 }); });
	assert.equal(await editSelection(client), false);
	assert.deepEqual(stub.messages, [['error', 'Code Llama: no usable code in the model\'s answer']]);
	assert.equal(stub.appliedEdits.length, 0);
});

test('the command runs through the started server; a code action\'s edit gets the instruction asked', async () => {
	const { factory, built } = fakeFactory({ 'codellama/edit': () => ({ edits: [EDIT], version: 1 }) });
	const extension = activate(fakeContext(), factory);
	await extension.started;
	editor(1);
	assert.equal(await stub.commands.get('codellama.editSelection')!('add type hints'), true);
	assert.equal(built[0].requests.filter(([m]) => m === 'codellama/edit').length, 1);
	assert.equal(stub.appliedEdits.length, 1);

	// A code action's "edit selection…" carries instruction null: the user is asked first.
	const executeCommand = built[0].setup.middleware.executeCommand!;
	const target = { textDocument: { uri: 'file:///src/area.py' }, instruction: null, version: 1 };
	stub.inputAnswers.push('add a docstring');
	const sent: unknown[][] = [];
	await executeCommand('codellama.edit', [target], (_command, args) => { sent.push(args); return true; });
	assert.deepEqual(sent, [[{ ...target, instruction: 'add a docstring' }]]);
	stub.inputAnswers.push(undefined); // Escape: nothing is run
	await executeCommand('codellama.edit', [target], (_command, args) => { sent.push(args); return true; });
	assert.equal(sent.length, 1);
});
