// Activation: the output channel, the status item, the commands, and the language client that
// runs `codellama lsp` (restarted when the server settings change).
import * as vscode from 'vscode';
import type { Middleware } from 'vscode-languageclient/node';
import { AcceptanceTracker, PARTIAL_ACCEPTS, acceptPartly, itemId } from './acceptance';
import { askInstruction, editSelection } from './edit';
import { LastAnswer, infoFor } from './info';
import { createMiddleware } from './middleware';
import { NextEdits } from './nextEdit';
import { PREWARM_METHOD, Prewarmer } from './prewarm';
import { SuggestionScope } from './scope';
import {
	SECTION,
	ServerCommand,
	ServerSettings,
	changedSettings,
	completionsEnabled,
	serverCommand,
	serverSettings,
} from './settings';
import { ShownContext } from './shownContext';
import { SHOW_LOG_COMMAND, StatusItem, stateOfModel } from './status';

export const STATS_METHOD = 'codellama/stats';

/** The language client's state: `stopped` after a stop, or when the server process ended. */
export type ClientState = 'starting' | 'running' | 'stopped';

/** What the extension needs from a language client (`client.ts` wraps the real one). */
export interface ServerClient {
	start(): Promise<void>;
	stop(): Promise<void>;
	sendRequest<R>(method: string, params: unknown, token?: vscode.CancellationToken): Promise<R>;
	sendNotification(method: string, params: unknown): Promise<void>;
	onDidChangeState(listener: (state: ClientState) => void): vscode.Disposable;
	hookProvider?(document: vscode.TextDocument,
		hook: (item: vscode.InlineCompletionItem, length: number) => void): void;
}

export interface ClientSetup {
	command: ServerCommand;
	env: Record<string, string>;
	initializationOptions: ServerSettings;
	middleware: Middleware;
	outputChannel: vscode.LogOutputChannel;
}

export type ClientFactory = (setup: ClientSetup) => ServerClient;

function config(): vscode.WorkspaceConfiguration {
	return vscode.workspace.getConfiguration(SECTION);
}

/** The running extension: one server at a time, restarted on demand. */
export class CodeLlama implements vscode.Disposable {
	client: ServerClient | undefined;
	/** The latest start (activation does not wait for the server). */
	started: Promise<void> = Promise.resolve();
	readonly tracker: AcceptanceTracker;
	readonly scope = new SuggestionScope(config);
	/** Next edits, off wherever suggestions are off. */
	readonly nextEdits = new NextEdits(this, document => this.scope.offReason(document) === undefined);
	private readonly shownContext = new ShownContext();
	private stopping = false;
	/** The server settings last sent to the running server. */
	private sent: ServerSettings = {};

	constructor(
		readonly output: vscode.LogOutputChannel,
		readonly status: StatusItem,
		private readonly factory: ClientFactory,
	) {
		this.tracker = new AcceptanceTracker((command, args) => this.sendRequest('workspace/executeCommand',
			{ command, arguments: args }));
		this.refreshOff();
	}

	async start(): Promise<void> {
		const middleware = createMiddleware({
			offReason: document => this.scope.offReason(document),
			excluded: document => this.scope.excluded(document),
			status: this.status,
			tracker: this.tracker,
			settings: () => serverSettings(config()),
			askInstruction,
			hookProvider: document => this.client?.hookProvider?.(document,
				(item, length) => void this.tracker.partiallyAccepted(item, length)),
			answered: (document, items) => this.answered(document, items),
		});
		const command = serverCommand(config());
		const commandLine = [command.command, ...command.args].join(' ');
		this.sent = serverSettings(config());
		const client = this.factory({
			command,
			env: { PYTHONUNBUFFERED: '1' },
			initializationOptions: this.sent,
			middleware,
			outputChannel: this.output,
		});
		this.client = client;
		this.stopping = false;
		this.status.set('starting', commandLine);
		let ended = false; // the server process ended without being stopped
		client.onDidChangeState(state => {
			if (this.stopping || this.client !== client) {
				return;
			}
			if (state === 'stopped') {
				ended = true;
				this.status.set('error', 'the server stopped; see the log');
			} else if (state === 'starting' && ended) {
				this.status.set('starting', `restarting ${commandLine}`);
			} else if (state === 'running' && ended) {
				ended = false;
				void this.refreshState(); // the client restarted a server that had stopped
			}
		});
		try {
			await client.start();
		} catch (error) {
			this.status.set('error', `cannot start ${command.command}: ${(error as Error).message ?? error}`);
			this.output.appendLine(`[codellama] cannot start the server: ${(error as Error).message ?? error}`);
			return;
		}
		await this.refreshState();
	}

	/** The model's state from `codellama/stats` (loading progress updates it later). */
	async refreshState(): Promise<void> {
		try {
			const stats = await this.sendRequest<{ model?: { state?: string; error?: string | null; name?: string } }>(STATS_METHOD, {});
			this.status.set(...stateOfModel(stats.model));
		} catch (error) {
			this.status.set('error', `codellama/stats failed: ${(error as Error).message ?? error}`);
		}
	}

	async stop(): Promise<void> {
		const client = this.client;
		this.stopping = true;
		this.client = undefined;
		if (client) {
			await client.stop().catch(() => undefined);
		}
		this.status.set('stopped');
	}

	async restart(): Promise<void> {
		await this.stop();
		this.started = this.start();
		await this.started;
	}

	/** A notification to the server, if one runs (dropped otherwise: nobody waits for it). */
	notify(method: string, params: unknown): void {
		this.client?.sendNotification(method, params).catch(() => undefined);
	}

	sendRequest<R>(method: string, params: unknown, token?: vscode.CancellationToken): Promise<R> {
		if (!this.client) {
			return Promise.reject(new Error('the Code Llama server is not running'));
		}
		// An explicit `undefined` token would make vscode-jsonrpc send the params by position, as
		// `[params, null]`, which the server cannot read.
		return token ? this.client.sendRequest<R>(method, params, token)
			: this.client.sendRequest<R>(method, params);
	}

	/**
	 * Settings changed: restart for a new server command (or new excluded files: the server
	 * may hold a file now excluded), else send the server its settings.
	 */
	async configurationChanged(event: vscode.ConfigurationChangeEvent): Promise<void> {
		if (!event.affectsConfiguration(SECTION)) {
			return;
		}
		this.refreshOff();
		if (!config().get<boolean>('showInfo')) {
			this.status.setInfo(undefined);
		}
		if (RESTARTING_SETTINGS.some(key => event.affectsConfiguration(`${SECTION}.${key}`))) {
			await this.restart();
			return;
		}
		if (!this.client) {
			return;
		}
		this.sent = changedSettings(config(), this.sent);
		await this.client.sendNotification('workspace/didChangeConfiguration',
			{ settings: { [SECTION]: this.sent } });
	}

	async showStats(): Promise<void> {
		try {
			const stats = await this.sendRequest<Record<string, any>>(STATS_METHOD, {});
			this.output.appendLine(`[codellama] ${STATS_METHOD}: ${JSON.stringify(stats, null, 2)}`);
			this.output.show(true);
			void vscode.window.showInformationMessage(summary(stats));
		} catch (error) {
			void vscode.window.showErrorMessage(`Code Llama: ${(error as Error).message ?? error}`);
		}
	}

	async toggle(): Promise<void> {
		const enabled = !completionsEnabled(config());
		await config().update('enable', enabled, vscode.ConfigurationTarget.Global);
		this.refreshOff();
		if (!enabled) {
			this.nextEdits.clear();
			await hideSuggestion();
		}
	}

	/** Edit Selection, but never in a file that is not sent to the server. */
	editSelection(instruction?: string): Promise<boolean> {
		const document = vscode.window.activeTextEditor?.document;
		const glob = document && this.scope.excludedBy(document);
		if (glob) {
			void vscode.window.showWarningMessage(`Code Llama: this file matches ${glob}, so it is `
				+ 'never sent to the server: no edits there.');
			return Promise.resolve(false);
		}
		return editSelection(this, instruction);
	}

	/** Suggestions off in the active editor's file, or back on. */
	async toggleFile(): Promise<void> {
		const editor = vscode.window.activeTextEditor;
		if (!editor) {
			void vscode.window.showInformationMessage('Code Llama: open a file to turn its suggestions off or on.');
			return;
		}
		const on = this.scope.toggleFile(editor.document);
		this.refreshOff();
		if (!on) {
			this.nextEdits.clear();
			await hideSuggestion();
		}
	}

	/** The status item's `off`, for the active editor. */
	refreshOff(): void {
		this.status.setOff(this.scope.offReason(vscode.window.activeTextEditor?.document));
	}

	/** An inline answer came back: the context key of our keys, and the info line. */
	answered(document: vscode.TextDocument, items: readonly vscode.InlineCompletionItem[]): void {
		this.shownContext.set(items.length > 0);
		this.status.setInfo(undefined);
		const ids = items.map(itemId).filter((id): id is number => id !== undefined);
		if (ids.length > 0 && config().get<boolean>('showInfo')) {
			void this.showInfo(ids);
		}
	}

	/** The info line of the answer with these item ids (`codellama.showInfo`). */
	private async showInfo(ids: number[]): Promise<void> {
		try {
			const stats = await this.sendRequest<{ last_answer?: LastAnswer | null }>(STATS_METHOD, {});
			this.status.setInfo(infoFor(stats.last_answer, ids));
		} catch {
			// The info is a courtesy: a server that cannot tell leaves the item as it is.
		}
	}

	/** The active editor changed: what the status says, and no stale context key. */
	activeEditorChanged(): void {
		this.shownContext.set(false);
		this.status.setInfo(undefined);
		this.refreshOff();
	}

	dispose(): void {
		void this.stop();
	}
}

/** One line of `codellama/stats` for a notification; the whole answer goes to the log. */
export function summary(stats: Record<string, any>): string {
	const p50 = stats.latency_ms?.p50;
	const latency = typeof p50 === 'number' ? `, p50 ${Math.round(p50)} ms` : '';
	return `Code Llama: ${stats.requests ?? 0} requests, ${stats.shown ?? 0} shown, `
		+ `${stats.accepted ?? 0} accepted${latency}; model ${stats.model?.name ?? '?'} `
		+ `${stats.model?.state ?? '?'}`;
}

/** The settings whose change restarts the server. */
const RESTARTING_SETTINGS = ['server.command', 'server.python', 'excludeFiles'];

function hideSuggestion(): Thenable<unknown> {
	return vscode.commands.executeCommand('editor.action.inlineSuggest.hide');
}

let running: CodeLlama | undefined;

export function activate(context: vscode.ExtensionContext, factory?: ClientFactory
): CodeLlama {
	const output = vscode.window.createOutputChannel('Code Llama', { log: true });
	const status = new StatusItem(vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100));
	// Loaded here, not at the top: the unit tests pass a fake client and no real one is built.
	const make = factory ?? (require('./client') as typeof import('./client')).createClient;
	const extension = new CodeLlama(output, status, make);
	running = extension;
	const prewarmer = new Prewarmer(params => extension.notify(PREWARM_METHOD, params),
		document => extension.scope.offReason(document) === undefined);
	context.subscriptions.push(output, status, extension, prewarmer,
		vscode.commands.registerCommand('codellama.editSelection',
			(instruction?: string) => extension.editSelection(typeof instruction === 'string' ? instruction : undefined)),
		vscode.commands.registerCommand('codellama.toggle', () => extension.toggle()),
		vscode.commands.registerCommand('codellama.toggleFile', () => extension.toggleFile()),
		vscode.commands.registerCommand('codellama.showStats', () => extension.showStats()),
		vscode.commands.registerCommand('codellama.restart', () => extension.restart()),
		vscode.commands.registerCommand(SHOW_LOG_COMMAND, () => output.show(true)),
		...Object.entries(PARTIAL_ACCEPTS).map(([ours, builtin]) =>
			vscode.commands.registerCommand(ours, () => acceptPartly(builtin, extension.tracker))),
		vscode.workspace.onDidChangeConfiguration(event => extension.configurationChanged(event)),
		vscode.workspace.onDidCloseTextDocument(document => {
			extension.tracker.forget(document.uri.toString());
			extension.scope.forget(document.uri.toString());
		}),
		vscode.window.onDidChangeTextEditorSelection(event => prewarmer.cursorMoved(event.textEditor)),
		vscode.window.onDidChangeActiveTextEditor(editor => {
			extension.activeEditorChanged();
			prewarmer.cursorMoved(editor);
		}),
		...extension.nextEdits.register(),
	);
	extension.started = extension.start();
	return extension;
}

export async function deactivate(): Promise<void> {
	await running?.stop();
	running = undefined;
}
