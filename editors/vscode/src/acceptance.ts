// Telling the server what was accepted. A whole accept runs the item's own command
// (`codellama.accept` [item_id], sent by the language client); a partial accept (one word, one
// line) sends `codellama.accept` [item_id, accepted_length] from here.
import * as vscode from 'vscode';

export const ACCEPT_COMMAND = 'codellama.accept';

/** Sends `workspace/executeCommand` to the server. */
export type ExecuteCommand = (command: string, args: unknown[]) => Promise<unknown>;

interface Shown {
	id: number;
	text: string;
	accepted: number; // characters of `text` accepted so far (and reported)
}

function insertText(item: vscode.InlineCompletionItem): string {
	const text = item.insertText;
	return typeof text === 'string' ? text : text.value;
}

/** The server's id of an item: the first argument of its `codellama.accept` command. */
export function itemId(item: vscode.InlineCompletionItem): number | undefined {
	const command = item.command;
	const id = command?.command === ACCEPT_COMMAND ? command.arguments?.[0] : undefined;
	return typeof id === 'number' ? id : undefined;
}

export class AcceptanceTracker {
	private readonly byItem = new WeakMap<vscode.InlineCompletionItem, Shown>();
	private readonly latest = new Map<string, Shown[]>(); // document uri -> the last answer

	constructor(private readonly execute: ExecuteCommand) { }

	/** Remember an answer's items (the latest answer per document). */
	remember(uri: string, items: readonly vscode.InlineCompletionItem[]): void {
		const shown: Shown[] = [];
		for (const item of items) {
			const id = itemId(item);
			if (id !== undefined) {
				const entry = { id, text: insertText(item), accepted: 0 };
				this.byItem.set(item, entry);
				shown.push(entry);
			}
		}
		this.latest.set(uri, shown);
	}

	forget(uri: string): void {
		this.latest.delete(uri);
	}

	/** VS Code says `acceptedLength` characters of `item` are accepted by now. */
	partiallyAccepted(item: vscode.InlineCompletionItem, acceptedLength: number): Promise<void> {
		const entry = this.byItem.get(item);
		return entry ? this.report(entry, acceptedLength) : Promise.resolve();
	}

	/** `inserted` was just accepted from the suggestion shown in `uri` (by our accept commands). */
	insertedFromSuggestion(uri: string, inserted: string): Promise<void> {
		if (!inserted) {
			return Promise.resolve();
		}
		const entry = this.latest.get(uri)?.find(
			e => e.text.startsWith(inserted, e.accepted) && e.accepted + inserted.length <= e.text.length);
		return entry ? this.report(entry, entry.accepted + inserted.length) : Promise.resolve();
	}

	/** Send the accepted length once it grows: two reports of one accept send one message. */
	private async report(entry: Shown, acceptedLength: number): Promise<void> {
		if (acceptedLength <= entry.accepted) {
			return;
		}
		entry.accepted = acceptedLength;
		try {
			await this.execute(ACCEPT_COMMAND, [entry.id, acceptedLength]);
		} catch {
			// Acceptance is statistics only: a server that is gone or refuses it changes nothing.
		}
	}
}

/** The built-in partial accepts that our commands wrap (same keys, plus the report). */
export const PARTIAL_ACCEPTS: Readonly<Record<string, string>> = {
	'codellama.acceptNextWord': 'editor.action.inlineSuggest.acceptNextWord',
	'codellama.acceptNextLine': 'editor.action.inlineSuggest.acceptNextLine',
};

/**
 * Run VS Code's own partial accept and report the text it inserted. Used by the commands
 * `codellama.acceptNextWord` / `codellama.acceptNextLine`, bound to the same keys as VS Code's
 * where a suggestion is shown: stable VS Code tells a provider of partial accepts only through a
 * proposed API.
 */
export async function acceptPartly(builtin: string, tracker: AcceptanceTracker): Promise<void> {
	const editor = vscode.window.activeTextEditor;
	if (!editor) {
		await vscode.commands.executeCommand(builtin);
		return;
	}
	const document = editor.document;
	let inserted = '';
	const listening = vscode.workspace.onDidChangeTextDocument(event => {
		if (event.document === document) {
			inserted += event.contentChanges.map(change => change.text).join('');
		}
	});
	try {
		await vscode.commands.executeCommand(builtin);
	} finally {
		listening.dispose();
	}
	await tracker.insertedFromSuggestion(document.uri.toString(), inserted);
}
