// The one place that builds a real `vscode-languageclient` LanguageClient (the unit tests give
// `activate` a fake one instead).
import * as vscode from 'vscode';
import {
	InlineCompletionRequest,
	LanguageClient,
	LanguageClientOptions,
	RevealOutputChannelOn,
	ServerOptions,
	State,
} from 'vscode-languageclient/node';
import type { ClientFactory, ClientSetup, ClientState, ServerClient } from './extension';
import { pipeServerLog } from './serverLog';

const STATES: Record<State, ClientState> = {
	[State.Starting]: 'starting',
	[State.Running]: 'running',
	[State.Stopped]: 'stopped',
	[State.StartFailed]: 'stopped',
};

/** VS Code's hook for partial accepts (proposed API `inlineCompletionsAdditions`). */
type PartialAcceptHook = (item: vscode.InlineCompletionItem, info: number | { acceptedLength: number }) => void;

class Client implements ServerClient {
	constructor(private readonly client: LanguageClient) { }

	start(): Promise<void> {
		return this.client.start();
	}

	stop(): Promise<void> {
		return this.client.state === State.Stopped ? Promise.resolve() : this.client.stop();
	}

	sendRequest<R>(method: string, params: unknown, token?: vscode.CancellationToken): Promise<R> {
		return this.client.sendRequest<R>(method, params, token);
	}

	sendNotification(method: string, params: unknown): Promise<void> {
		return this.client.sendNotification(method, params);
	}

	onDidChangeState(listener: (state: ClientState) => void): vscode.Disposable {
		return this.client.onDidChangeState(e => listener(STATES[e.newState]));
	}

	hookProvider(document: vscode.TextDocument, hook: (item: vscode.InlineCompletionItem, length: number) => void): void {
		const provider = this.client.getFeature(InlineCompletionRequest.method)?.getProvider(document) as
			(vscode.InlineCompletionItemProvider & { handleDidPartiallyAcceptCompletionItem?: PartialAcceptHook }) | undefined;
		if (provider && !provider.handleDidPartiallyAcceptCompletionItem) {
			provider.handleDidPartiallyAcceptCompletionItem = (item, info) =>
				hook(item, typeof info === 'number' ? info : info.acceptedLength);
		}
	}
}

export const createClient: ClientFactory = (setup: ClientSetup) => {
	const serverOptions: ServerOptions = {
		command: setup.command.command,
		args: setup.command.args,
		// No `transport`: stdio is what `codellama lsp` speaks by default (TransportKind.stdio
		// would only append `--stdio`).
		options: { env: { ...process.env, ...setup.env } },
	};
	const clientOptions: LanguageClientOptions = {
		documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
		initializationOptions: setup.initializationOptions,
		middleware: setup.middleware,
		outputChannel: setup.outputChannel,
		// Failed requests are told by the extension, once (e.g. Edit Selection's one message);
		// the client only logs them. A crashed server is still told.
		revealOutputChannelOn: RevealOutputChannelOn.Never,
		stdioOptions: {
			stdout: (input, channel) => pipeServerLog(input, channel),
			stderr: (input, channel) => pipeServerLog(input, channel),
		},
		// The server reports a failed model load itself; a crash restarts it a few times.
		initializationFailedHandler: () => false,
	};
	return new Client(new LanguageClient('codellama', 'Code Llama', serverOptions, clientOptions));
};
