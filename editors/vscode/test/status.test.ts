import { beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { StatusItem, stateOfModel, stateOfProgress } from '../src/status';
import { stub } from './stub/vscode';

beforeEach(() => stub.reset());

function newItem(): [StatusItem, ReturnType<typeof stub.statusItems.at> & object] {
	const status = new StatusItem(vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100));
	return [status, stub.statusItems[0]];
}

test('the item is shown at once, says it is starting, and a click shows the log', () => {
	const [status, item] = newItem();
	assert.equal(item.visible, true);
	assert.equal(status.shown, 'starting');
	assert.match(item.text, /loading~spin.*Code Llama starting/);
	assert.equal(item.command, 'codellama.showLog');
});

test('ready, then generating while requests are in flight', () => {
	const [status, item] = newItem();
	status.set('ready');
	assert.equal(item.text, '$(check) Code Llama');
	status.begin();
	status.begin();
	status.end();
	assert.equal(status.shown, 'generating');
	assert.match(item.text, /sync~spin/);
	status.end();
	status.end(); // an extra end never goes below zero
	assert.equal(item.text, '$(check) Code Llama');
});

test('an error is red and says why in the tooltip', () => {
	const [status, item] = newItem();
	status.set('error', 'cannot load model /nowhere: not found');
	assert.match(item.text, /\$\(error\) Code Llama error/);
	assert.match(String(item.tooltip), /cannot load model \/nowhere/);
	assert.equal((item.backgroundColor as vscode.ThemeColor & { id: string }).id, 'statusBarItem.errorBackground');
	status.set('ready');
	assert.equal(item.backgroundColor, undefined);
});

test('completions turned off show as off, with the reason in the tooltip', () => {
	const [status, item] = newItem();
	status.set('ready');
	status.setOff('suggestions are off in this file');
	assert.match(item.text, /circle-slash.*Code Llama off/);
	assert.match(String(item.tooltip), /off in this file/);
	status.setOff(undefined);
	assert.equal(status.shown, 'ready');
});

test('the info line shows beside the name while ready, and goes with a new request', () => {
	const [status, item] = newItem();
	status.set('ready');
	status.setInfo('12 tokens, 85 ms, 90/100 prompt ids reused');
	assert.equal(item.text, '$(check) Code Llama 12 tokens, 85 ms, 90/100 prompt ids reused');
	status.begin();
	assert.match(item.text, /sync~spin.*generating/);
	status.setInfo(undefined);
	status.end();
	assert.equal(item.text, '$(check) Code Llama');
});

test('the server\'s loading progress and model state map to the item', () => {
	assert.deepEqual(stateOfProgress({ kind: 'begin', title: 'Code Llama', message: 'loading tiny' }), ['loading', 'loading tiny']);
	assert.deepEqual(stateOfProgress({ kind: 'end', message: 'loaded tiny in 1.2s' }), ['ready', 'loaded tiny in 1.2s']);
	assert.deepEqual(stateOfProgress({ kind: 'end', message: 'cannot load model x: no such directory' }),
		['error', 'cannot load model x: no such directory']);
	assert.deepEqual(stateOfModel({ state: 'loading', name: 'tiny' }), ['loading', 'loading tiny']);
	assert.deepEqual(stateOfModel({ state: 'failed', name: 'x', error: 'boom' }), ['error', 'boom']);
	assert.deepEqual(stateOfModel({ state: 'ready', name: 'tiny' }), ['ready', 'model tiny']);
});
