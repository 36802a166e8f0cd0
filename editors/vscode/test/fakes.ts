// A language client double for the unit tests: records what the extension sends and answers
// requests from a table.
import type * as vscode from 'vscode';
import type { ClientSetup, ClientState, ServerClient } from '../src/extension';

export class FakeClient implements ServerClient {
	started = 0;
	stopped = 0;
	requests: [string, unknown][] = [];
	notifications: [string, unknown][] = [];
	stateListeners: ((state: ClientState) => void)[] = [];
	startError: Error | undefined;
	/** Where set, the server "starts" only when it resolves (a slow server command). */
	startGate: Promise<void> | undefined;
	/** The partial-accept hook the extension gave the inline completion provider. */
	hook: ((item: vscode.InlineCompletionItem, length: number) => void) | undefined;

	constructor(readonly setup: ClientSetup, readonly answers: Record<string, (params: any) => unknown>) { }

	async start(): Promise<void> {
		this.started += 1;
		this.fire('starting');
		await this.startGate;
		if (this.startError) {
			this.fire('stopped');
			throw this.startError;
		}
		this.fire('running');
	}

	async stop(): Promise<void> {
		this.stopped += 1;
		this.fire('stopped');
	}

	fire(state: ClientState): void {
		this.stateListeners.forEach(listener => listener(state));
	}

	async sendRequest<R>(method: string, params: unknown, ...token: unknown[]): Promise<R> {
		if (token.length && token[0] === undefined) {
			// vscode-jsonrpc would send the params by position, as `[params, null]`
			throw new Error(`${method}: an explicit undefined token`);
		}
		this.requests.push([method, params]);
		const answer = this.answers[method];
		if (!answer) {
			throw new Error(`no answer for ${method}`);
		}
		return await answer(params) as R;
	}

	async sendNotification(method: string, params: unknown): Promise<void> {
		this.notifications.push([method, params]);
	}

	onDidChangeState(listener: (state: ClientState) => void): vscode.Disposable {
		this.stateListeners.push(listener);
		return { dispose: () => undefined };
	}

	hookProvider(_document: vscode.TextDocument, hook: (item: vscode.InlineCompletionItem, length: number) => void): void {
		this.hook = hook;
	}

	/** The server process ends by itself. */
	crash(): void {
		this.fire('stopped');
	}

	/** The language client restarted the server. */
	restarted(): void {
		this.fire('starting');
		this.fire('running');
	}
}

export const READY_STATS = { requests: 3, shown: 2, accepted: 1, latency_ms: { p50: 41.6 },
	model: { name: 'tiny', state: 'ready', error: null } };

/** A factory that builds FakeClients with `answers`, keeping each one it built. */
export function fakeFactory(answers: Record<string, (params: any) => unknown> = {}) {
	const built: FakeClient[] = [];
	const factory = (setup: ClientSetup): FakeClient => {
		const client = new FakeClient(setup, { 'codellama/stats': () => READY_STATS, ...answers });
		built.push(client);
		return client;
	};
	return { factory, built };
}

export function fakeContext(): vscode.ExtensionContext {
	return { subscriptions: [] } as unknown as vscode.ExtensionContext;
}
