// Where suggestions are off and which files are never sent (scope.ts, globs.ts), the keys that
// are ours only while our suggestion shows (shownContext.ts, package.json), the info line.
import { beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstMatch, globMatcher } from '../src/globs';
import { infoFor, infoLine } from '../src/info';
import { createMiddleware } from '../src/middleware';
import { SuggestionScope, excludedBy } from '../src/scope';
import { ShownContext, SHOWN_CONTEXT } from '../src/shownContext';
import type { ConfigReader } from '../src/settings';
import { fakeDocument, stub } from './stub/vscode';

beforeEach(() => stub.reset());

function reader(values: Record<string, unknown>): ConfigReader {
	return {
		get: <T>(key: string) => values[key] as T | undefined,
		inspect: <T>(key: string) => ({ globalValue: values[key] as T | undefined }),
	};
}

test('a glob without / matches the name, one with / the end of the path', () => {
	assert.equal(globMatcher('*.pem')('/home/u/certs/server.pem'), true);
	assert.equal(globMatcher('*.pem')('/home/u/server.pem.txt'), false);
	assert.equal(globMatcher('id_rsa*')('/home/u/.ssh/id_rsa.pub'), true);
	assert.equal(globMatcher('.aws/credentials')('/home/u/.aws/credentials'), true);
	assert.equal(globMatcher('.aws/credentials')('/home/u/aws/credentials'), false);
	assert.equal(globMatcher('secrets/**')('/repo/secrets/a/b.py'), true);
	assert.equal(globMatcher('*.{sql,csv}')('/repo/dump.csv'), true);
	assert.equal(firstMatch(['*.py', '*.env'], '/repo/prod.env'), '*.env');
});

test('secret files and excludeFiles are never sent; other files and untitled ones are', () => {
	const config = reader({ excludeFiles: ['private/**'] });
	const file = (path: string) => fakeDocument(`file://${path}`, '');
	assert.equal(excludedBy(config, file('/repo/.env')), '.env');
	assert.equal(excludedBy(config, file('/home/u/.ssh/id_ed25519')), 'id_ed25519*');
	assert.equal(excludedBy(config, file('/repo/private/notes.py')), 'private/**');
	assert.equal(excludedBy(config, file('/repo/app.py')), undefined);
	assert.equal(excludedBy(config, fakeDocument('untitled:Untitled-1', '')), undefined);
});

test('the middleware never sends an excluded file to the server', async () => {
	const scope = new SuggestionScope(() => reader({}));
	const middleware = createMiddleware({
		offReason: d => scope.offReason(d), excluded: d => scope.excluded(d),
		status: undefined as any, tracker: undefined as any, settings: () => ({}),
		askInstruction: async () => undefined, hookProvider: () => undefined, answered: () => undefined,
	});
	const sent: string[] = [];
	const next = async (document: any) => { sent.push(document.uri.toString()); };
	await middleware.didOpen!(fakeDocument('file:///repo/.env', 'KEY=1') as any, next);
	await middleware.didOpen!(fakeDocument('file:///repo/app.py', 'x = 1') as any, next);
	await middleware.didChange!({ document: fakeDocument('file:///repo/server.key', '') } as any,
		async (event: any) => { sent.push(event.document.uri.toString()); });
	assert.deepEqual(sent, ['file:///repo/app.py']);
});

test('suggestions are off per file (toggled), per language, and everywhere, each with its reason', () => {
	const values: Record<string, unknown> = { enable: true, disabledLanguages: ['markdown'] };
	const scope = new SuggestionScope(() => reader(values));
	const python = fakeDocument('file:///repo/a.py', '');
	const markdown = fakeDocument('file:///repo/README.md', '', 1, 'markdown');
	assert.equal(scope.offReason(python), undefined);
	assert.match(scope.offReason(markdown)!, /off for markdown/);
	assert.equal(scope.toggleFile(python), false);
	assert.match(scope.offReason(python)!, /off in this file/);
	assert.equal(scope.offReason(fakeDocument('file:///repo/b.py', '')), undefined);
	assert.equal(scope.toggleFile(python), true);
	assert.equal(scope.offReason(python), undefined);
	scope.toggleFile(python);
	scope.forget(python.uri.toString()); // closed: on again when reopened
	assert.equal(scope.offReason(python), undefined);
	values.enable = false;
	assert.match(scope.offReason(python)!, /Toggle Completions/);
	assert.match(scope.offReason(fakeDocument('file:///repo/.env', ''))!, /Toggle Completions/);
});

test('Ctrl+Right and Ctrl+Alt+Right are ours only while our suggestion is shown', async () => {
	const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
	for (const command of ['codellama.acceptNextWord', 'codellama.acceptNextLine']) {
		const binding = manifest.contributes.keybindings.find((k: any) => k.command === command);
		assert.match(binding.when, new RegExp(`\\b${SHOWN_CONTEXT.replace('.', '\\.')}\\b`));
	}
	const shown = new ShownContext();
	shown.set(true);
	shown.set(true); // set once per change
	shown.set(false);
	await Promise.resolve();
	assert.deepEqual(stub.executed.filter(([id]) => id === 'setContext'),
		[['setContext', [SHOWN_CONTEXT, true]], ['setContext', [SHOWN_CONTEXT, false]]]);
});

test('the info line says tokens, milliseconds and prompt ids reused, for the answer shown only', () => {
	const last = { item_ids: [7, 8], ms: 84.6, generated_tokens: 12, prompt_tokens: 1100,
		reused_prompt_tokens: 1020, cached: false };
	assert.equal(infoLine(last), '12 tokens, 85 ms, 1020/1100 prompt ids reused');
	assert.equal(infoFor(last, [8]), infoLine(last));
	assert.equal(infoFor(last, [9]), undefined); // another answer's
	assert.equal(infoFor({ ...last, cached: true, ms: 2 }, [7]), 'cached, 2 ms');
	assert.equal(infoFor(null, [7]), undefined);
});
