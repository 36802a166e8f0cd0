// The language client's middleware: completions on/off, the status item's `generating` and
// `loading`, remembering shown items for partial accepts, the instruction for code actions'
// "edit selection…", and our settings where the server asks for its configuration.
import * as vscode from 'vscode';
import type { Middleware } from 'vscode-languageclient/node';
import { AcceptanceTracker } from './acceptance';
import { SECTION, ServerSettings } from './settings';
import { StatusItem, stateOfProgress } from './status';

export const SERVER_EDIT_COMMAND = 'codellama.edit';

export interface MiddlewareContext {
	enabled(): boolean;
	status: StatusItem;
	tracker: AcceptanceTracker;
	settings(): ServerSettings;
	askInstruction(): Thenable<string | undefined>;
	/** Give the inline completion provider for `document` the partial-accept hook. */
	hookProvider(document: vscode.TextDocument): void;
}

type Items = vscode.InlineCompletionItem[] | vscode.InlineCompletionList | null | undefined;

function itemsOf(result: Items): vscode.InlineCompletionItem[] {
	if (!result) {
		return [];
	}
	return Array.isArray(result) ? result : result.items;
}

export function createMiddleware(context: MiddlewareContext): Middleware {
	return {
		async provideInlineCompletionItems(document, position, inlineContext, token, next) {
			if (!context.enabled()) {
				return null;
			}
			context.hookProvider(document);
			context.status.begin();
			try {
				const result = await next(document, position, inlineContext, token);
				context.tracker.remember(document.uri.toString(), itemsOf(result));
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
