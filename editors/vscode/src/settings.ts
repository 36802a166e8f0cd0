// The extension's settings: which server to start, and the values mirrored to the server's own
// settings (README.md, "Language server"; codellama_lsp/lsp/settings.py).

export const SECTION = 'codellama';

/** What this module reads from a `vscode.WorkspaceConfiguration` (the `codellama` section). */
export interface ConfigReader {
	get<T>(key: string): T | undefined;
}

/** Extension setting -> the server's setting of the same meaning. */
const MIRRORED: ReadonlyArray<[string, string]> = [
	['model', 'model'],
	['engine', 'engine'],
	['maxNewTokens', 'maxNewTokens'],
	['debounceMs', 'debounceMs'],
	['fimFormat', 'fimFormat'],
	['languages', 'languages'],
	['instructModel', 'instructModel'],
];

export type ServerSettings = Record<string, unknown>;

/**
 * The server's settings: the mirrored values that are defined, then `server.settings` (any
 * further server setting by its server name, e.g. `device`), which wins where both name a key.
 */
export function serverSettings(config: ConfigReader): ServerSettings {
	const settings: ServerSettings = {};
	for (const [ours, theirs] of MIRRORED) {
		const value = config.get<unknown>(ours);
		if (value !== undefined && value !== null) {
			settings[theirs] = value;
		}
	}
	const extra = config.get<unknown>('server.settings');
	if (extra !== null && typeof extra === 'object' && !Array.isArray(extra)) {
		Object.assign(settings, extra);
	}
	return settings;
}

export interface ServerCommand {
	command: string;
	args: string[];
}

export const DEFAULT_COMMAND: readonly string[] = ['codellama', 'lsp'];

/**
 * The server's command line: `server.python -m codellama_lsp lsp` where a Python interpreter is
 * set, else `server.command` (default `codellama lsp`).
 */
export function serverCommand(config: ConfigReader): ServerCommand {
	const python = config.get<string>('server.python')?.trim();
	if (python) {
		return { command: python, args: ['-m', 'codellama_lsp', 'lsp'] };
	}
	const line = config.get<unknown>('server.command');
	const words = Array.isArray(line) && line.length > 0 && line.every(w => typeof w === 'string' && w)
		? line as string[]
		: [...DEFAULT_COMMAND];
	return { command: words[0], args: words.slice(1) };
}

/** Whether inline completions are on (the Toggle Completions command flips it). */
export function completionsEnabled(config: ConfigReader): boolean {
	return config.get<boolean>('enable') !== false;
}
