// File globs as both clients read them: a glob without `/` matches a file's name (`*.pem`), one
// with `/` the end of its path (`.aws/credentials`). `*` and `?` stay within a name, `**`
// crosses folders, `{a,b}` and `[abc]` as in shells. The Neovim plugin reads them the same way
// (editors/nvim/lua/codellama/files.lua).

function escape(text: string): string {
	return text.replace(/[.+^$()|\\/]/g, '\\$&');
}

/** The regular expression source of one glob (no anchors). */
function globSource(glob: string): string {
	let source = '';
	let i = 0;
	while (i < glob.length) {
		const c = glob[i];
		if (c === '*' && glob[i + 1] === '*') {
			source += '.*';
			i += 2;
			if (glob[i] === '/') {
				source = source.slice(0, -2) + '(?:.*/)?'; // `**/` also matches no folder
				i += 1;
			}
			continue;
		}
		if (c === '*') {
			source += '[^/]*';
		} else if (c === '?') {
			source += '[^/]';
		} else if (c === '[') {
			const end = glob.indexOf(']', i + 1);
			if (end < 0) {
				source += '\\[';
			} else {
				const set = glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
				source += `[${set}]`;
				i = end;
			}
		} else if (c === '{') {
			const end = glob.indexOf('}', i + 1);
			if (end < 0) {
				source += '\\{';
			} else {
				source += `(?:${glob.slice(i + 1, end).split(',').map(globSource).join('|')})`;
				i = end;
			}
		} else {
			source += escape(c);
		}
		i += 1;
	}
	return source;
}

/** A test of file paths (with `/` between folders) against `glob`. */
export function globMatcher(glob: string): (path: string) => boolean {
	const anchored = glob.includes('/')
		? new RegExp(`(?:^|/)${globSource(glob.replace(/^\/+/, ''))}$`)
		: new RegExp(`^${globSource(glob)}$`);
	return glob.includes('/')
		? path => anchored.test(path)
		: path => anchored.test(path.slice(path.lastIndexOf('/') + 1));
}

/** The first of `globs` that `path` matches, or undefined. */
export function firstMatch(globs: readonly string[], path: string): string | undefined {
	return globs.find(glob => globMatcher(glob)(path));
}
