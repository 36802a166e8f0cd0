// "Code Llama: Edit Selection…": ask for the instruction, send `codellama/edit`, apply the answer
// as one undoable WorkspaceEdit if the document is still the version the edit was computed for.
import * as vscode from 'vscode';

export const EDIT_METHOD = 'codellama/edit';

/** What the edit needs from the language client (a vscode-jsonrpc connection fits too). */
export interface RequestSender {
	sendRequest<R>(method: string, params: unknown, token?: vscode.CancellationToken): Promise<R>;
}

interface LspPosition { line: number; character: number }
interface LspRange { start: LspPosition; end: LspPosition }
export interface LspTextEdit { range: LspRange; newText: string }

/** The answer of `codellama/edit`. */
export interface EditResult {
	edits: LspTextEdit[];
	version: number;
}

export interface EditParams {
	textDocument: { uri: string };
	range: LspRange;
	instruction: string;
}

export function askInstruction(): Thenable<string | undefined> {
	return vscode.window.showInputBox({
		title: 'Code Llama: Edit Selection',
		prompt: 'What should change in the selected lines?',
		placeHolder: 'e.g. add type hints',
		ignoreFocusOut: true,
		validateInput: value => value.trim() ? undefined : 'Say what to change',
	});
}

/** The selection, or the cursor's whole line where nothing is selected. */
export function editRange(editor: vscode.TextEditor): vscode.Range {
	const selection = editor.selection;
	return selection.isEmpty ? editor.document.lineAt(selection.active.line).range : selection;
}

export function editParams(document: vscode.TextDocument, range: vscode.Range, instruction: string
): EditParams {
	const position = (p: vscode.Position): LspPosition => ({ line: p.line, character: p.character });
	return {
		textDocument: { uri: document.uri.toString() },
		range: { start: position(range.start), end: position(range.end) },
		instruction,
	};
}

/**
 * Apply an edit's answer to `document` as one WorkspaceEdit (one undo step). Refused, with a
 * message, where the document changed since the server computed it.
 */
export async function applyEditResult(document: vscode.TextDocument, result: EditResult | undefined
): Promise<boolean> {
	// vscode-languageclient answers undefined where the server answered ContentModified.
	if (!result || document.version !== result.version) {
		void vscode.window.showWarningMessage(
			'Code Llama: the document changed while the edit was computed; nothing was applied.');
		return false;
	}
	if (result.edits.length === 0) {
		void vscode.window.showInformationMessage('Code Llama: the model suggests no change.');
		return false;
	}
	const edit = new vscode.WorkspaceEdit();
	for (const { range, newText } of result.edits) {
		edit.replace(document.uri, new vscode.Range(range.start.line, range.start.character,
			range.end.line, range.end.character), newText);
	}
	const applied = await vscode.workspace.applyEdit(edit);
	if (!applied) {
		void vscode.window.showWarningMessage('Code Llama: VS Code refused the edit.');
	}
	return applied;
}

function isCancelled(error: unknown, token: vscode.CancellationToken): boolean {
	return token.isCancellationRequested || (error as { code?: number } | null)?.code === -32800;
}

/** The command: instruction from the user (or given), request, apply. */
export async function editSelection(client: RequestSender, instruction?: string): Promise<boolean> {
	const editor = vscode.window.activeTextEditor;
	if (!editor) {
		void vscode.window.showInformationMessage('Code Llama: open a file and select lines to edit.');
		return false;
	}
	const document = editor.document;
	const range = editRange(editor);
	const words = instruction ?? await askInstruction();
	if (!words?.trim()) {
		return false;
	}
	const params = editParams(document, range, words.trim());
	return vscode.window.withProgress({
		location: vscode.ProgressLocation.Notification,
		title: `Code Llama: ${params.instruction}`,
		cancellable: true,
	}, async (_progress, token) => {
		try {
			const result = await client.sendRequest<EditResult | undefined>(EDIT_METHOD, params, token);
			return await applyEditResult(document, result);
		} catch (error) {
			if (!isCancelled(error, token)) {
				void vscode.window.showErrorMessage(`Code Llama: ${(error as Error).message ?? error}`);
			}
			return false;
		}
	});
}
