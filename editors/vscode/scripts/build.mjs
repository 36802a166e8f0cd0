// Builds the extension (one bundle, out/extension.js) or, with --tests, transpiles src/ and
// test/ file by file into out-test/ for node's test runner (type-checking is `tsc --noEmit`).
import * as esbuild from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = new Set(process.argv.slice(2));

function sources(dir) {
	return readdirSync(join(root, dir), { withFileTypes: true }).flatMap(entry =>
		entry.isDirectory() ? sources(join(dir, entry.name))
			: entry.name.endsWith('.ts') ? [join(root, dir, entry.name)] : []);
}

if (args.has('--tests')) {
	rmSync(join(root, 'out-test'), { recursive: true, force: true });
	await esbuild.build({
		entryPoints: [...sources('src'), ...sources('test')],
		outdir: join(root, 'out-test'),
		outbase: root,
		format: 'cjs',
		platform: 'node',
		target: 'node20',
		sourcemap: 'inline',
		logLevel: 'warning',
	});
} else {
	await esbuild.build({
		entryPoints: [join(root, 'src/extension.ts')],
		outfile: join(root, 'out/extension.js'),
		bundle: true,
		external: ['vscode'],
		format: 'cjs',
		platform: 'node',
		target: 'node20',
		minify: args.has('--minify'),
		sourcemap: !args.has('--minify'),
		logLevel: 'warning',
	});
}
