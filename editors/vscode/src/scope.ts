// Where suggestions are on: everywhere unless toggled off (`codellama.enable`), off for the
// files the user switched off (Toggle Completions for This File) and for `disabledLanguages`;
// and the files never sent to the server at all (the secret files, `excludeFiles`).
import { firstMatch } from './globs';
import { SECRET_FILES } from './secretFiles';
import { ConfigReader, completionsEnabled } from './settings';

/** What this module needs of a `vscode.TextDocument`. */
export interface DocumentLike {
	uri: { scheme: string; path: string; toString(): string };
	languageId: string;
}

function stringList(value: unknown): string[] {
	return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && v !== '') : [];
}

/** The globs of files never sent to the server: the secret files and the user's own. */
export function excludedGlobs(config: ConfigReader): string[] {
	return [...SECRET_FILES, ...stringList(config.get<unknown>('excludeFiles'))];
}

/** Why `document` is never sent to the server (the glob it matches), or undefined. */
export function excludedBy(config: ConfigReader, document: DocumentLike): string | undefined {
	if (document.uri.scheme !== 'file') {
		return undefined; // an untitled document has no name yet
	}
	return firstMatch(excludedGlobs(config), document.uri.path);
}

export class SuggestionScope {
	private readonly offFiles = new Set<string>();

	constructor(private readonly config: () => ConfigReader) { }

	/** Turn suggestions off in `document`, or back on; returns whether they are on now. */
	toggleFile(document: DocumentLike): boolean {
		const uri = document.uri.toString();
		if (this.offFiles.delete(uri)) {
			return true;
		}
		this.offFiles.add(uri);
		return false;
	}

	/** The file is closed: it starts with suggestions on when opened again. */
	forget(uri: string): void {
		this.offFiles.delete(uri);
	}

	/** Whether `document` is never sent to the server. */
	excluded(document: DocumentLike): boolean {
		return this.excludedBy(document) !== undefined;
	}

	/** The glob by which `document` is never sent to the server, or undefined. */
	excludedBy(document: DocumentLike): string | undefined {
		return excludedBy(this.config(), document);
	}

	/** Why suggestions are off in `document` (one line for the status item), or undefined. */
	offReason(document: DocumentLike | undefined): string | undefined {
		const config = this.config();
		if (!completionsEnabled(config)) {
			return 'suggestions are off (Code Llama: Toggle Completions)';
		}
		if (!document) {
			return undefined;
		}
		const glob = excludedBy(config, document);
		if (glob !== undefined) {
			return `this file matches ${glob}: it is never sent to the server`;
		}
		if (this.offFiles.has(document.uri.toString())) {
			return 'suggestions are off in this file (Code Llama: Toggle Completions for This File)';
		}
		if (stringList(config.get<unknown>('disabledLanguages')).includes(document.languageId)) {
			return `suggestions are off for ${document.languageId} (codellama.disabledLanguages)`;
		}
		return undefined;
	}
}
