import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVER_SETTINGS } from '../src/serverSettings';
import { changedSettings, completionsEnabled, serverCommand, serverSettings } from '../src/settings';

const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
const properties: Record<string, { default?: unknown; markdownDescription?: string }> =
	manifest.contributes.configuration.properties;
const declared = Object.fromEntries(Object.entries(properties).map(([name, p]) => [name.slice('codellama.'.length), p.default]));

/** A configuration as VS Code gives it: the user's values over package.json's defaults. */
function reader(values: Record<string, unknown>, workspace: Record<string, unknown> = {}) {
	return {
		get: <T>(key: string) => (key in workspace ? workspace[key] : key in values ? values[key] : declared[key]) as T | undefined,
		inspect: <T>(key: string) => ({ defaultValue: declared[key] as T | undefined,
			globalValue: values[key] as T | undefined, workspaceValue: workspace[key] as T | undefined }),
	};
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

test('unset settings are left to the server: package.json\'s defaults are not sent', () => {
	assert.deepEqual(serverSettings(reader({})), {});
	assert.deepEqual(serverSettings(reader({ 'server.settings': ['not', 'an', 'object'] })), {});
	// A value equal to the default, set by the user, is sent: it overrides the server's command line.
	assert.deepEqual(serverSettings(reader({ model: 'auto' })), { model: 'auto' });
});

test('a workspace value wins over the user\'s', () => {
	assert.deepEqual(serverSettings(reader({ maxNewTokens: 32, device: 'cpu' }, { maxNewTokens: 16 })),
		{ maxNewTokens: 16, device: 'cpu' });
});

test('every server setting is in package.json with a description and a default', () => {
	for (const key of SERVER_SETTINGS) {
		const property = properties[`codellama.${key}`];
		assert.ok(property && property.markdownDescription, `codellama.${key} is declared and described`);
		assert.ok('default' in property, `codellama.${key} has a default`);
	}
	assert.ok(SERVER_SETTINGS.includes('contextWindow') && SERVER_SETTINGS.includes('prewarm'));
	assert.ok(!SERVER_SETTINGS.includes('enable') && !SERVER_SETTINGS.includes('server.python'));
});

test('a setting removed since it was sent goes back to its declared default', () => {
	const sent = { model: 'a', maxNewTokens: 32, deviceMap: 'auto', colour: 'blue' };
	assert.deepEqual(changedSettings(reader({ model: 'b' }), sent),
		{ model: 'b', maxNewTokens: 64, deviceMap: null });
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
