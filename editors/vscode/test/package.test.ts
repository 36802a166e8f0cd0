// `vsce package` (through @vscode/vsce's API): the .vsix holds the bundled extension and its
// manifest, not the sources or node_modules; the bundle loads and exports activate/deactivate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVSIX } from '@vscode/vsce';

const root = join(__dirname, '..', '..');

test('vsce packages a .vsix with the bundled extension', async () => {
	const dir = mkdtempSync(join(tmpdir(), 'codellama-vsix-'));
	try {
		const vsix = join(dir, 'codellama.vsix');
		await createVSIX({ cwd: root, packagePath: vsix, dependencies: false,
			allowMissingRepository: true, skipLicense: true });
		// Zip entry names are stored as plain text in the archive's directory.
		const names = readFileSync(vsix).toString('latin1');
		for (const name of ['extension/out/extension.js', 'extension/package.json', 'extension/readme.md', 'extension.vsixmanifest']) {
			assert.ok(names.includes(name), `${name} is in the .vsix`);
		}
		for (const name of ['extension/src/', 'extension/test/', 'extension/node_modules/']) {
			assert.ok(!names.includes(name), `${name} is not in the .vsix`);
		}
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
	// The bundle carries vscode-languageclient and needs nothing but `vscode` at run time.
	const bundle = require(join(root, 'out', 'extension.js'));
	assert.equal(typeof bundle.activate, 'function');
	assert.equal(typeof bundle.deactivate, 'function');
});
