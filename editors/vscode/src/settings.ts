// The extension's settings: which server to start, and the server's own settings where the user
// set them. Every server setting is declared in codellama_lsp/settings_schema.py, from which
// package.json's `contributes.configuration` and `serverSettings.ts` are generated.
import { SERVER_SETTINGS } from './serverSettings';

export const SECTION = 'codellama';

/** The values of one setting in each scope (what `vscode.WorkspaceConfiguration.inspect` gives). */
export interface SettingValues<T> {
	defaultValue?: T;
	globalValue?: T;
	workspaceValue?: T;
	workspaceFolderValue?: T;
}

/** What this module reads from a `vscode.WorkspaceConfiguration` (the `codellama` section). */
export interface ConfigReader {
	get<T>(key: string): T | undefined;
	inspect<T>(key: string): SettingValues<T> | undefined;
}

export type ServerSettings = Record<string, unknown>;

/** The value the user set (folder over workspace over user settings); undefined if none. */
function userValue(config: ConfigReader, key: string): unknown {
	const values = config.inspect<unknown>(key);
	for (const value of [values?.workspaceFolderValue, values?.workspaceValue, values?.globalValue]) {
		if (value !== undefined) {
			return value;
		}
	}
	return undefined;
}

/**
 * The server's settings: those the user set (not package.json's defaults, which would override
 * the server's command line, e.g. `codellama lsp --model X`), then `server.settings` (any server
 * setting by its name), which wins where both name a key.
 */
export function serverSettings(config: ConfigReader): ServerSettings {
	const settings: ServerSettings = {};
	for (const key of SERVER_SETTINGS) {
		const value = userValue(config, key);
		if (value !== undefined) {
			settings[key] = value;
		}
	}
	const extra = config.get<unknown>('server.settings');
	if (extra !== null && typeof extra === 'object' && !Array.isArray(extra)) {
		Object.assign(settings, extra);
	}
	return settings;
}

/**
 * The settings to send after a change: `serverSettings`, plus the declared default of each
 * server setting sent before (`sent`) and unset since; without it the server would keep the
 * removed value (it changes only the settings it is sent).
 */
export function changedSettings(config: ConfigReader, sent: ServerSettings): ServerSettings {
	const settings = serverSettings(config);
	for (const key of Object.keys(sent)) {
		if (!(key in settings) && SERVER_SETTINGS.includes(key)) {
			settings[key] = config.inspect<unknown>(key)?.defaultValue ?? null;
		}
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
