// The status bar item: what the server is doing, and a click that shows its log.
import * as vscode from 'vscode';

export const SHOW_LOG_COMMAND = 'codellama.showLog';

export type ServerState = 'starting' | 'loading' | 'ready' | 'error' | 'stopped';

/** The state as the item shows it: the server's, or `generating` / `off` on top of `ready`. */
export type ShownState = ServerState | 'generating' | 'off';

const ICONS: Record<ShownState, string> = {
	starting: '$(loading~spin)',
	loading: '$(loading~spin)',
	ready: '$(check)',
	generating: '$(sync~spin)',
	error: '$(error)',
	stopped: '$(debug-disconnect)',
	off: '$(circle-slash)',
};

export class StatusItem implements vscode.Disposable {
	private state: ServerState = 'starting';
	private detail = '';
	private inFlight = 0;
	private offReason: string | undefined;
	private info: string | undefined;

	constructor(private readonly item: vscode.StatusBarItem) {
		item.command = SHOW_LOG_COMMAND;
		this.render();
		item.show();
	}

	get shown(): ShownState {
		if (this.state !== 'ready') {
			return this.state;
		}
		if (this.offReason !== undefined) {
			return 'off';
		}
		return this.inFlight > 0 ? 'generating' : 'ready';
	}

	get text(): string {
		return this.item.text;
	}

	get tooltip(): string {
		return typeof this.item.tooltip === 'string' ? this.item.tooltip : '';
	}

	set(state: ServerState, detail = ''): void {
		this.state = state;
		this.detail = detail;
		this.render();
	}

	/** Suggestions are off (in the active editor, or everywhere), and why; undefined: on. */
	setOff(reason: string | undefined): void {
		this.offReason = reason;
		this.render();
	}

	/** What the suggestion shown cost (`codellama.showInfo`), or undefined to clear it. */
	setInfo(info: string | undefined): void {
		this.info = info;
		this.render();
	}

	/** An inline completion request started; `end` when it is answered (or failed). */
	begin(): void {
		this.inFlight += 1;
		this.render();
	}

	end(): void {
		this.inFlight = Math.max(0, this.inFlight - 1);
		this.render();
	}

	dispose(): void {
		this.item.dispose();
	}

	private render(): void {
		const shown = this.shown;
		const word = shown === 'ready' ? (this.info ? ` ${this.info}` : '') : ` ${shown}`;
		this.item.text = `${ICONS[shown]} Code Llama${word}`;
		const lines = [`Code Llama: ${shown}`];
		if (shown === 'off' && this.offReason) {
			lines.push(this.offReason);
		}
		if (this.detail) {
			lines.push(this.detail);
		}
		lines.push('Click to show the server log.');
		this.item.tooltip = lines.join('\n');
		this.item.backgroundColor = shown === 'error'
			? new vscode.ThemeColor('statusBarItem.errorBackground')
			: undefined;
	}
}

/** The server's model state (`codellama/stats`: model.state) as the item's state. */
export function stateOfModel(model: { state?: string; error?: string | null; name?: string } | undefined
): [ServerState, string] {
	switch (model?.state) {
		case 'ready':
			return ['ready', model.name ? `model ${model.name}` : ''];
		case 'failed':
			return ['error', model.error ?? `model ${model.name ?? ''} failed to load`];
		case 'loading':
			return ['loading', model.name ? `loading ${model.name}` : 'loading the model'];
		default:
			return ['ready', ''];
	}
}

/** A `$/progress` value from the server's model loading, as the item's state. */
export function stateOfProgress(value: { kind: string; message?: string; title?: string }
): [ServerState, string] | undefined {
	switch (value.kind) {
		case 'begin':
		case 'report':
			return ['loading', value.message ?? value.title ?? 'loading'];
		case 'end':
			// The server ends with "loaded ..." or "cannot load model ...: reason".
			return value.message?.startsWith('cannot load')
				? ['error', value.message]
				: ['ready', value.message ?? ''];
		default:
			return undefined;
	}
}
