// The language client's middleware: where suggestions are off, files never sent to the server,
// the status item's `generating` and `loading`, remembering shown items for partial accepts, the
// instruction for code actions' "edit selection…", and our settings where the server asks for
// its configuration.
import * as vscode from 'vscode';
import type { Middleware } from 'vscode-languageclient/node';
import { AcceptanceTracker } from './acceptance';
import { SECTION, ServerSettings } from './settings';
import { StatusItem, stateOfProgress } from './status';

export const SERVER_EDIT_COMMAND = 'codellama.edit';

export interface MiddlewareContext {
	/** Why suggestions are off in `document`, or undefined where they are on. */
	offReason(document: vscode.TextDocument): string | undefined;
	/** Whether `document` is never sent to the server (a secret file, `excludeFiles`). */
	excluded(document: vscode.TextDocument): boolean;
	status: StatusItem;
	tracker: AcceptanceTracker;
	settings(): ServerSettings;
	askInstruction(): Thenable<string | undefined>;
	/** Give the inline completion provider for `document` the partial-accept hook. */
	hookProvider(document: vscode.TextDocument): void;
	/** An inline answer for `document` came back with these items (none: nothing shown). */
	answered(document: vscode.TextDocument, items: readonly vscode.InlineCompletionItem[]): void;
}

type Items = vscode.InlineCompletionItem[] | vscode.InlineCompletionList | null | undefined;

function itemsOf(result: Items): vscode.InlineCompletionItem[] {
	if (!result) {
		return [];
	}
	return Array.isArray(result) ? result : result.items;
}

/** The notifications that carry a document to the server, dropped for excluded files. */
function documentSync(context: MiddlewareContext): Middleware {
	const unless = <T>(document: (data: T) => vscode.TextDocument) =>
		(data: T, next: (data: T) => Promise<void>): Promise<void> =>
			context.excluded(document(data)) ? Promise.resolve() : next(data);
	return {
		didOpen: unless<vscode.TextDocument>(d => d),
		didChange: unless<vscode.TextDocumentChangeEvent>(e => e.document),
		didSave: unless<vscode.TextDocument>(d => d),
		didClose: unless<vscode.TextDocument>(d => d),
		willSave: unless<vscode.TextDocumentWillSaveEvent>(e => e.document),
	};
}

export function createMiddleware(context: MiddlewareContext): Middleware {
	return {
		...documentSync(context),

		async provideInlineCompletionItems(document, position, inlineContext, token, next) {
			if (context.offReason(document) !== undefined) {
				context.answered(document, []);
				return null;
			}
			context.hookProvider(document);
			context.status.begin();
			try {
				const result = await next(document, position, inlineContext, token);
				const items = itemsOf(result);
				context.tracker.remember(document.uri.toString(), items);
				context.answered(document, items);
				return result;
			} finally {
				context.status.end();
			}
		},

		handleWorkDoneProgress(token, params, next) {
			const state = stateOfProgress(params);
			if (state) {
				context.status.set(...state);
			}
			next(token, params);
		},

		async executeCommand(command, args, next) {
			const target = args[0] as { instruction?: unknown } | undefined;
			if (command === SERVER_EDIT_COMMAND && target && typeof target === 'object'
				&& (target.instruction === null || target.instruction === undefined)) {
				const instruction = await context.askInstruction();
				if (!instruction?.trim()) {
					return undefined;
				}
				args = [{ ...target, instruction: instruction.trim() }, ...args.slice(1)];
			}
			return next(command, args);
		},

		workspace: {
			async configuration(params, token, next) {
				const answer = await next(params, token);
				if (!Array.isArray(answer)) {
					return answer;
				}
				return params.items.map((item, index) =>
					item.section === SECTION ? context.settings() : answer[index]);
			},
		},
	};
}
