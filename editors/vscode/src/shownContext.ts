// The context key `codellama.suggestionShown`: true while the latest inline answer for the active
// editor had items. The keys that accept part of a suggestion (Ctrl+Right, Ctrl+Alt+Right) are
// ours only while it holds and VS Code shows a suggestion; with another extension's suggestion
// they stay VS Code's own.
import * as vscode from 'vscode';

export const SHOWN_CONTEXT = 'codellama.suggestionShown';

export class ShownContext {
	private shown = false;

	set(shown: boolean): void {
		if (shown !== this.shown) {
			this.shown = shown;
			void vscode.commands.executeCommand('setContext', SHOWN_CONTEXT, shown);
		}
	}
}
