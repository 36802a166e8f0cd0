import { test } from 'node:test';
import assert from 'node:assert/strict';
import { completionsEnabled, serverCommand, serverSettings } from '../src/settings';

function reader(values: Record<string, unknown>) {
	return { get: <T>(key: string) => values[key] as T | undefined };
}

test('the mirrored settings reach the server under its own names', () => {
	const settings = serverSettings(reader({
		model: '/models/codellama-7b', engine: 'http://127.0.0.1:8000', maxNewTokens: 32,
		debounceMs: 0, fimFormat: 'spm', languages: ['python', 'rust'],
		instructModel: '/models/codellama-7b-instruct', enable: false, 'server.command': ['x'],
	}));
	assert.deepEqual(settings, {
		model: '/models/codellama-7b', engine: 'http://127.0.0.1:8000', maxNewTokens: 32,
		debounceMs: 0, fimFormat: 'spm', languages: ['python', 'rust'],
		instructModel: '/models/codellama-7b-instruct',
	});
});

test('server.settings passes further server settings and wins over the mirrored ones', () => {
	const settings = serverSettings(reader({
		model: 'a', 'server.settings': { device: 'cuda', contextWindow: 8192, model: 'b' },
	}));
	assert.deepEqual(settings, { model: 'b', device: 'cuda', contextWindow: 8192 });
});

test('unset settings are left to the server', () => {
	assert.deepEqual(serverSettings(reader({ 'server.settings': ['not', 'an', 'object'] })), {});
});

test('the server command: default, a command line, or a Python interpreter', () => {
	assert.deepEqual(serverCommand(reader({})), { command: 'codellama', args: ['lsp'] });
	assert.deepEqual(serverCommand(reader({ 'server.command': ['/opt/bin/codellama', 'lsp', '--device', 'cpu'] })),
		{ command: '/opt/bin/codellama', args: ['lsp', '--device', 'cpu'] });
	assert.deepEqual(serverCommand(reader({ 'server.command': ['codellama', 'lsp'], 'server.python': ' /venv/bin/python ' })),
		{ command: '/venv/bin/python', args: ['-m', 'codellama_lsp', 'lsp'] });
	assert.deepEqual(serverCommand(reader({ 'server.command': [] })), { command: 'codellama', args: ['lsp'] });
});

test('completions are on unless turned off', () => {
	assert.equal(completionsEnabled(reader({})), true);
	assert.equal(completionsEnabled(reader({ enable: false })), false);
});
