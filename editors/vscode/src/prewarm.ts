// Tells the server where the cursor rests (`codellama/prewarm`): with the in-process model it
// computes the prompt there ahead of time, so the first suggestion computes only its tail. Sent
// once the cursor has stayed put for a moment (typing moves it, and asks for completions anyway).
import type * as vscode from 'vscode';

export const PREWARM_METHOD = 'codellama/prewarm';
export const PREWARM_DELAY_MS = 300;

export interface PrewarmParams {
	textDocument: { uri: string };
	position: { line: number; character: number };
}

/** Sends the cursor of an editor after `delayMs` without another move; each move restarts it. */
export class Prewarmer implements vscode.Disposable {
	private timer: ReturnType<typeof setTimeout> | undefined;

	constructor(
		private readonly send: (params: PrewarmParams) => unknown,
		/** Whether suggestions are on in a document (none are pre-warmed where they are off). */
		private readonly enabled: (document: vscode.TextDocument) => boolean,
		private readonly delayMs = PREWARM_DELAY_MS,
	) { }

	/** The cursor of `editor` moved, or `editor` became the active one (undefined: none is). */
	cursorMoved(editor: vscode.TextEditor | undefined): void {
		this.dispose();
		const scheme = editor?.document.uri.scheme;
		if (!editor || (scheme !== 'file' && scheme !== 'untitled') || !this.enabled(editor.document)) {
			return; // the client syncs only these documents with the server
		}
		// VS Code positions are UTF-16 code units, the encoding the client negotiates.
		const { line, character } = editor.selection.active;
		const params = { textDocument: { uri: editor.document.uri.toString() }, position: { line, character } };
		this.timer = setTimeout(() => {
			this.timer = undefined;
			this.send(params);
		}, this.delayMs);
	}

	dispose(): void {
		if (this.timer !== undefined) {
			clearTimeout(this.timer);
			this.timer = undefined;
		}
	}
}
