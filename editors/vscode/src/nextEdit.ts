// Next-edit suggestions (`textDocument/copilotInlineEdit`, the wire of Copilot's next edits).
// VS Code 1.139 has no stable inline-edit API (`isInlineEdit` and the rest are in the proposed
// `inlineCompletionsAdditions`, which a published extension may not use), so the edit is drawn
// with decorations: the deleted text struck through, each new line after the line it replaces.
// Tab (while one is shown: the `codellama.nextEditVisible` context key) jumps to it, a second
// Tab applies it as one WorkspaceEdit (one undo step) if the document is still the version it
// was made for; Escape dismisses it; it clears when the text changes or the cursor moves away.
import * as vscode from 'vscode';
import { SECTION } from './settings';

export const INLINE_EDIT_METHOD = 'textDocument/copilotInlineEdit';
export const DID_SHOW_METHOD = 'textDocument/didShowInlineEdit';
export const ACCEPT_COMMAND = 'codellama.nextEdit.accept';
export const DISMISS_COMMAND = 'codellama.nextEdit.dismiss';
export const VISIBLE_KEY = 'codellama.nextEditVisible';
const DEFAULT_DELAY_MS = 500;

interface LspPosition { line: number; character: number }
interface LspRange { start: LspPosition; end: LspPosition }

/** One entry of the request's `edits` (the entries are alternatives). */
export interface InlineEdit {
	text: string;
	textDocument: { uri: string; version: number };
	range: LspRange;
	command?: { title: string; command: string; arguments?: unknown[] };
}

/** What next edits need from the running extension. */
export interface NextEditServer {
	sendRequest<R>(method: string, params: unknown, token?: vscode.CancellationToken): Promise<R>;
	notify(method: string, params: unknown): void;
}

/** A changed line: the bytes deleted from the old line, and the line as it becomes. */
export interface LineChange { line: number; deleteFrom: number; deleteTo: number; becomes: string }

/** How an edit shows: the changed lines, or a block of lines replaced by other lines. */
export interface Shape {
	lines: LineChange[];
	/** Where the lines of a block are replaced (when their counts differ). */
	block?: { first: number; last: number; becomes: string[] };
}

/** The characters `a` and `b` share at their start, then at their end (not overlapping). */
function common(a: string, b: string): [number, number] {
	const limit = Math.min(a.length, b.length);
	let head = 0;
	while (head < limit && a[head] === b[head]) {
		head += 1;
	}
	let tail = 0;
	while (tail < limit - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) {
		tail += 1;
	}
	return [head, tail];
}

/**
 * The shape of `edit` on `lineText(i)` (the document's lines): the lines equal before and after
 * are left out; where as many lines change as there were, each is a LineChange, else a block.
 */
export function shapeOf(edit: InlineEdit, lineText: (line: number) => string): Shape {
	const { start, end } = edit.range;
	let old: string[] = [];
	for (let line = start.line; line <= end.line; line++) {
		old.push(lineText(line));
	}
	let added = (old[0].slice(0, start.character) + edit.text
		+ old[old.length - 1].slice(end.character)).split('\n');
	let first = start.line;
	while (old.length && added.length && old[0] === added[0]) {
		old = old.slice(1);
		added = added.slice(1);
		first += 1;
	}
	while (old.length && added.length && old[old.length - 1] === added[added.length - 1]) {
		old = old.slice(0, -1);
		added = added.slice(0, -1);
	}
	if (old.length === added.length) {
		return { lines: old.map((text, i) => {
			const [head, tail] = common(text, added[i]);
			return { line: first + i, deleteFrom: head, deleteTo: text.length - tail, becomes: added[i] };
		}) };
	}
	return { lines: [], block: { first, last: first + old.length - 1, becomes: added } };
}

interface Shown {
	editor: vscode.TextEditor;
	edit: InlineEdit;
	version: number;
	/** The cursor's line when it was shown, and the first and last lines of the change. */
	anchor: number;
	target: vscode.Position;
	last: number;
}

/** Asks for, shows, applies and dismisses next edits in the active editor. */
export class NextEdits implements vscode.Disposable {
	/** What happened since activation (tests and the stats read it). */
	readonly counters = { requests: 0, shown: 0, jumped: 0, applied: 0, refused: 0, dismissed: 0 };
	shown: Shown | undefined;
	private timer: ReturnType<typeof setTimeout> | undefined;
	private inFlight: vscode.CancellationTokenSource | undefined;
	private readonly deleted: vscode.TextEditorDecorationType;
	private readonly added: vscode.TextEditorDecorationType;

	/** `allowed(document)`: whether suggestions are on there (the extension's SuggestionScope). */
	constructor(private readonly server: NextEditServer,
		private readonly allowed: (document: vscode.TextDocument) => boolean = () => true) {
		this.deleted = vscode.window.createTextEditorDecorationType({
			backgroundColor: new vscode.ThemeColor('diffEditor.removedTextBackground'),
			textDecoration: 'line-through',
		});
		this.added = vscode.window.createTextEditorDecorationType({
			after: { color: new vscode.ThemeColor('editorGhostText.foreground'), margin: '0 0 0 2em' },
		});
	}

	/** The subscriptions and commands that drive it. */
	register(): vscode.Disposable[] {
		return [this,
			vscode.commands.registerCommand(ACCEPT_COMMAND, () => this.accept()),
			vscode.commands.registerCommand(DISMISS_COMMAND, () => this.dismiss()),
			vscode.workspace.onDidChangeTextDocument(event => this.documentChanged(event.document)),
			vscode.window.onDidChangeTextEditorSelection(event => this.selectionChanged(event.textEditor)),
			vscode.window.onDidChangeActiveTextEditor(() => this.clear()),
		];
	}

	/** Off where suggestions are off (toggled, per file or language, never sent) or `nextEdits: off`. */
	private enabled(document: vscode.TextDocument): boolean {
		return vscode.workspace.getConfiguration(SECTION).get<string>('nextEdits') !== 'off'
			&& this.allowed(document);
	}

	/** A change of the active editor's document: clear, and ask again once it rested. */
	documentChanged(document: vscode.TextDocument): void {
		const editor = vscode.window.activeTextEditor;
		if (!editor || editor.document !== document) {
			return;
		}
		this.clear();
		if (!this.enabled(document)) {
			return;
		}
		// The pause is the server's setting; waited here, so that the server answers at once.
		const delay = vscode.workspace.getConfiguration(SECTION).get<number>('nextEditDelayMs')
			?? DEFAULT_DELAY_MS;
		this.timer = setTimeout(() => {
			this.timer = undefined;
			if (vscode.window.activeTextEditor === editor) {
				this.request(editor).catch(() => false); // a closed editor: nothing to show
			}
		}, delay);
	}

	/** Ask for the next edit at the cursor of `editor` now; shows the first answer, if any. */
	async request(editor: vscode.TextEditor): Promise<boolean> {
		this.clear();
		const document = editor.document;
		if (!this.enabled(document)) {
			return false;
		}
		const version = document.version;
		const position = editor.selection.active;
		const source = new vscode.CancellationTokenSource();
		this.inFlight = source;
		this.counters.requests += 1;
		let edits: InlineEdit[] = [];
		try {
			const result = await this.server.sendRequest<{ edits?: InlineEdit[] }>(INLINE_EDIT_METHOD, {
				textDocument: { uri: document.uri.toString(), version },
				position: { line: position.line, character: position.character },
			}, source.token);
			edits = result?.edits ?? [];
		} catch {
			return false; // cancelled, or the server is not running: nothing to show
		} finally {
			if (this.inFlight === source) {
				this.inFlight = undefined;
			}
		}
		const edit = edits[0];
		if (!edit || source.token.isCancellationRequested || document.version !== version
			|| edit.textDocument?.version !== version || vscode.window.activeTextEditor !== editor) {
			return false; // nothing, or for a text that moved on
		}
		return this.show(editor, edit, version, position.line);
	}

	private show(editor: vscode.TextEditor, edit: InlineEdit, version: number, anchor: number): boolean {
		let shape: Shape;
		try {
			shape = shapeOf(edit, line => editor.document.lineAt(line).text);
		} catch {
			return false; // a range past the end
		}
		const deleted: vscode.DecorationOptions[] = [];
		const added: vscode.DecorationOptions[] = [];
		const lineEnd = (line: number) => editor.document.lineAt(line).text.length;
		const after = (line: number, text: string) => added.push({
			range: new vscode.Range(line, lineEnd(line), line, lineEnd(line)),
			renderOptions: { after: { contentText: `→ ${text}` } },
		});
		for (const change of shape.lines) {
			if (change.deleteTo > change.deleteFrom) {
				deleted.push({ range: new vscode.Range(change.line, change.deleteFrom, change.line, change.deleteTo) });
			}
			after(change.line, change.becomes);
		}
		let target = shape.lines.length ? new vscode.Position(shape.lines[0].line, shape.lines[0].deleteFrom)
			: undefined;
		let last = shape.lines.length ? shape.lines[shape.lines.length - 1].line : anchor;
		const block = shape.block;
		if (block) {
			for (let line = block.first; line <= block.last; line++) {
				deleted.push({ range: new vscode.Range(line, 0, line, lineEnd(line)) });
			}
			const at = Math.max(0, block.last >= block.first ? block.last : block.first - 1);
			after(at, block.becomes.join(' ⏎ '));
			target = new vscode.Position(Math.min(block.first, at), 0);
			last = Math.max(at, block.last);
		}
		if (!target) {
			return false; // an edit that changes nothing
		}
		editor.setDecorations(this.deleted, deleted);
		editor.setDecorations(this.added, added);
		this.shown = { editor, edit, version, anchor, target, last };
		this.counters.shown += 1;
		void vscode.commands.executeCommand('setContext', VISIBLE_KEY, true);
		this.server.notify(DID_SHOW_METHOD, { item: edit });
		return true;
	}

	/** Tab: jump to the shown edit, or apply it when the cursor is on its first line. */
	async accept(): Promise<boolean> {
		const shown = this.shown;
		if (!shown) {
			return false;
		}
		const editor = shown.editor;
		if (editor.selection.active.line !== shown.target.line) {
			editor.selection = new vscode.Selection(shown.target, shown.target);
			editor.revealRange(new vscode.Range(shown.target, shown.target));
			this.counters.jumped += 1;
			return true;
		}
		return this.apply();
	}

	/** Apply the shown edit as one WorkspaceEdit, unless its document changed since. */
	async apply(): Promise<boolean> {
		const shown = this.shown;
		if (!shown) {
			return false;
		}
		this.clear();
		const document = shown.editor.document;
		if (document.version !== shown.version) {
			this.counters.refused += 1;
			void vscode.window.showWarningMessage(
				'Code Llama: the document changed since the next edit was made; nothing was applied.');
			return false;
		}
		const { start, end } = shown.edit.range;
		const edit = new vscode.WorkspaceEdit();
		edit.replace(document.uri, new vscode.Range(start.line, start.character, end.line, end.character),
			shown.edit.text);
		if (!await vscode.workspace.applyEdit(edit)) {
			void vscode.window.showWarningMessage('Code Llama: VS Code refused the next edit.');
			return false;
		}
		this.counters.applied += 1;
		const command = shown.edit.command;
		if (command?.command) {
			this.server.sendRequest('workspace/executeCommand',
				{ command: command.command, arguments: command.arguments ?? [] }).catch(() => undefined);
		}
		return true;
	}

	/** Escape: hide the shown edit. */
	dismiss(): boolean {
		if (!this.shown) {
			return false;
		}
		this.clear();
		this.counters.dismissed += 1;
		return true;
	}

	/** Clear once the cursor leaves the lines from where it was to the end of the edit. */
	selectionChanged(editor: vscode.TextEditor): void {
		const shown = this.shown;
		if (!shown || shown.editor !== editor) {
			return;
		}
		const line = editor.selection.active.line;
		if (line < Math.min(shown.anchor, shown.target.line) || line > Math.max(shown.anchor, shown.last)) {
			this.clear();
		}
	}

	/** Hide what is shown, stop the pause and cancel the request in flight. */
	clear(): void {
		if (this.timer !== undefined) {
			clearTimeout(this.timer);
			this.timer = undefined;
		}
		this.inFlight?.cancel();
		this.inFlight = undefined;
		const shown = this.shown;
		if (shown) {
			this.shown = undefined;
			shown.editor.setDecorations(this.deleted, []);
			shown.editor.setDecorations(this.added, []);
			void vscode.commands.executeCommand('setContext', VISIBLE_KEY, false);
		}
	}

	dispose(): void {
		this.clear();
		this.deleted.dispose();
		this.added.dispose();
	}
}
