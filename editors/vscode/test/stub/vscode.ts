// A stand-in for the `vscode` module (no VS Code binary can run here): the parts of the API the
// extension uses, recording what it is asked to do. `test/register.ts` makes `require('vscode')`
// load this file; tests drive and inspect it through `stub`.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

type Listener<T> = (value: T) => unknown;

// Names this stub does not define (enums and classes that vscode-languageclient reads when it
// builds its converters) are stand-ins that accept any use.
export function standIn(name: string): any {
	const target = function () { /* callable and constructible */ };
	return new Proxy(target, {
		get: (_target, key) => key === Symbol.toPrimitive ? () => name
			: key === 'toString' ? () => name : standIn(`${name}.${String(key)}`),
		apply: () => standIn(`${name}()`),
		construct: () => standIn(`new ${name}`),
	});
}


/** `object`, where any other name is a stand-in (the events and registrations vscode-languageclient
 * subscribes to; the extension's own code uses only what is defined). */
function lenient<T extends object>(name: string, object: T): T {
	return new Proxy(object, {
		get: (target: any, key) => key in target || typeof key === 'symbol' ? target[key] : standIn(`vscode.${name}.${String(key)}`),
	});
}

export class Disposable {
	constructor(private readonly callOnDispose: () => void = () => undefined) { }
	static from(...items: { dispose(): unknown }[]): Disposable {
		return new Disposable(() => items.forEach(item => item.dispose()));
	}
	dispose(): void {
		this.callOnDispose();
	}
}

export class EventEmitter<T> {
	private listeners: Listener<T>[] = [];
	event = (listener: Listener<T>): Disposable => {
		this.listeners.push(listener);
		return new Disposable(() => { this.listeners = this.listeners.filter(l => l !== listener); });
	};
	fire(value: T): unknown[] {
		return this.listeners.map(listener => listener(value));
	}
	dispose(): void {
		this.listeners = [];
	}
}

export class Position {
	constructor(readonly line: number, readonly character: number) { }
}

export class Range {
	readonly start: Position;
	readonly end: Position;
	constructor(a: Position | number, b: Position | number, c?: number, d?: number) {
		this.start = typeof a === 'number' ? new Position(a, b as number) : a;
		this.end = typeof a === 'number' ? new Position(c as number, d as number) : b as Position;
	}
	get isEmpty(): boolean {
		return this.start.line === this.end.line && this.start.character === this.end.character;
	}
}

export class Selection extends Range {
	constructor(readonly anchor: Position, readonly active: Position) {
		super(anchor, active);
	}
}

export class Uri {
	private constructor(private readonly value: string) { }
	static parse(value: string): Uri {
		return new Uri(value);
	}
	static file(path: string): Uri {
		return new Uri(`file://${path}`);
	}
	get scheme(): string {
		return this.value.slice(0, this.value.indexOf(':'));
	}
	get path(): string {
		return this.value.replace(/^[a-z]+:\/\//, '');
	}
	get fsPath(): string {
		return this.value.replace(/^file:\/\//, '');
	}
	toString(): string {
		return this.value;
	}
}

export class WorkspaceEdit {
	readonly replacements: { uri: Uri; range: Range; newText: string }[] = [];
	replace(uri: Uri, range: Range, newText: string): void {
		this.replacements.push({ uri, range, newText });
	}
}

export class ThemeColor {
	constructor(readonly id: string) { }
}

export class SnippetString {
	constructor(readonly value: string) { }
}

export class InlineCompletionItem {
	constructor(public insertText: string | SnippetString, public range?: Range,
		public command?: { title: string; command: string; arguments?: unknown[] }) { }
}

export class InlineCompletionList {
	constructor(public items: InlineCompletionItem[]) { }
}

// Classes that vscode-languageclient extends when it loads (the bundle's load test needs them).
export class CompletionItem { }
export class CodeLens { }
export class DocumentLink { }
export class InlayHint { }
export class SymbolInformation { }
export class TypeHierarchyItem { }
export class CallHierarchyItem { }
export class CodeAction { }
export class Diagnostic { }
export class CancellationError extends Error { }

export class CancellationTokenSource {
	readonly token = { isCancellationRequested: false,
		onCancellationRequested: (_listener: () => unknown) => new Disposable() };
	cancel(): void {
		this.token.isCancellationRequested = true;
	}
	dispose(): void { /* nothing held */ }
}

export enum StatusBarAlignment { Left = 1, Right = 2 }
export enum ProgressLocation { SourceControl = 1, Window = 10, Notification = 15 }
export enum ConfigurationTarget { Global = 1, Workspace = 2, WorkspaceFolder = 3 }
export enum InlineCompletionTriggerKind { Invoke = 0, Automatic = 1 }

export interface FakeStatusBarItem {
	text: string;
	tooltip: string | undefined;
	command: string | undefined;
	backgroundColor: ThemeColor | undefined;
	visible: boolean;
	show(): void;
	hide(): void;
	dispose(): void;
}

export interface FakeDocument {
	uri: Uri;
	version: number;
	languageId: string;
	getText(): string;
	lineAt(line: number): { range: Range; text: string };
}

export function fakeDocument(uri: string, text: string, version = 1, languageId = 'python'): FakeDocument {
	const lines = text.split('\n');
	return {
		uri: Uri.parse(uri), version, languageId,
		getText: () => text,
		lineAt: (line: number) => ({ range: new Range(line, 0, line, lines[line].length), text: lines[line] }),
	};
}

/** The stub's state: what the extension did, and the answers the "user" gives. */
export const stub = {
	config: {} as Record<string, unknown>,
	configUpdates: [] as [string, unknown, unknown][],
	commands: new Map<string, (...args: any[]) => unknown>(),
	executed: [] as [string, unknown[]][],
	messages: [] as [string, string][],
	inputAnswers: [] as (string | undefined)[],
	inputBoxes: [] as Record<string, unknown>[],
	appliedEdits: [] as WorkspaceEdit[],
	applyEditAnswer: true,
	statusItems: [] as FakeStatusBarItem[],
	output: [] as string[],
	outputShown: 0,
	activeTextEditor: undefined as undefined | { document: FakeDocument; selection: Selection },
	configurationChanged: new EventEmitter<{ affectsConfiguration(section: string): boolean }>(),
	documentChanged: new EventEmitter<{ document: FakeDocument; contentChanges: { text: string }[] }>(),
	documentClosed: new EventEmitter<FakeDocument>(),
	documentOpened: new EventEmitter<FakeDocument>(),
	selectionChanged: new EventEmitter<{ textEditor: { document: FakeDocument; selection: Selection } }>(),
	activeEditorChanged: new EventEmitter<{ document: FakeDocument; selection: Selection } | undefined>(),
	openDocuments: [] as FakeDocument[],
	inlineProviders: [] as any[],

	reset(): void {
		stub.config = {};
		stub.configUpdates = [];
		stub.commands.clear();
		stub.executed = [];
		stub.messages = [];
		stub.inputAnswers = [];
		stub.inputBoxes = [];
		stub.appliedEdits = [];
		stub.applyEditAnswer = true;
		stub.statusItems = [];
		stub.output = [];
		stub.outputShown = 0;
		stub.activeTextEditor = undefined;
		stub.configurationChanged.dispose();
		stub.documentChanged.dispose();
		stub.documentClosed.dispose();
		stub.documentOpened.dispose();
		stub.selectionChanged.dispose();
		stub.activeEditorChanged.dispose();
		stub.openDocuments = [];
		stub.inlineProviders = [];
	},

	/** Set settings (keys without the `codellama.` prefix; undefined removes one) and tell the extension. */
	changeSettings(values: Record<string, unknown>): unknown[] {
		for (const [key, value] of Object.entries(values)) {
			if (value === undefined) {
				delete stub.config[key];
			} else {
				stub.config[key] = value;
			}
		}
		const keys = Object.keys(values).map(key => `codellama.${key}`);
		return stub.configurationChanged.fire({
			affectsConfiguration: (section: string) =>
				keys.some(key => key === section || key.startsWith(`${section}.`)),
		});
	},
};

function record(kind: string) {
	return (message: string): Promise<undefined> => {
		stub.messages.push([kind, message]);
		return Promise.resolve(undefined);
	};
}

function outputChannel(name: string) {
	return lenient('OutputChannel', {
		logLevel: 2,
		trace: (line: string) => { stub.output.push(line); },
		debug: (line: string) => { stub.output.push(line); },
		name,
		appendLine: (line: string) => { stub.output.push(line); },
		append: (text: string) => { stub.output.push(text); },
		info: (line: string) => { stub.output.push(line); },
		warn: (line: string) => { stub.output.push(line); },
		error: (line: string) => { stub.output.push(line); },
		show: () => { stub.outputShown += 1; },
		clear: () => undefined,
		dispose: () => undefined,
	});
}

export const window: Record<string, any> = lenient('window', {
	createOutputChannel: outputChannel,
	createStatusBarItem(..._args: unknown[]): FakeStatusBarItem {
		const item: FakeStatusBarItem = {
			text: '', tooltip: undefined, command: undefined, backgroundColor: undefined, visible: false,
			show() { item.visible = true; },
			hide() { item.visible = false; },
			dispose() { item.visible = false; },
		};
		stub.statusItems.push(item);
		return item;
	},
	showInputBox(options: Record<string, unknown>): Promise<string | undefined> {
		stub.inputBoxes.push(options);
		return Promise.resolve(stub.inputAnswers.shift());
	},
	showInformationMessage: record('info'),
	showWarningMessage: record('warning'),
	showErrorMessage: record('error'),
	withProgress<R>(_options: unknown, task: (progress: unknown, token: unknown) => Promise<R>): Promise<R> {
		const token = { isCancellationRequested: false, onCancellationRequested: () => new Disposable() };
		return task({ report: () => undefined }, token);
	},
	get activeTextEditor() {
		return stub.activeTextEditor;
	},
	createTextEditorDecorationType(options: Record<string, unknown>) {
		return { key: "decoration", options, dispose: () => undefined };
	},
	onDidChangeTextEditorSelection: stub.selectionChanged.event,
	onDidChangeActiveTextEditor: stub.activeEditorChanged.event,
	visibleTextEditors: [],
});

/** A setting's default as package.json declares it (VS Code's `get` falls back to it). */
function declaredDefault(name: string): unknown {
	const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8'));
	return manifest.contributes.configuration.properties[name]?.default;
}

export const workspace: Record<string, any> = lenient('workspace', {
	// `stub.config` holds the user's settings; unset ones have package.json's defaults, as in VS Code.
	getConfiguration(section?: string) {
		const prefix = section ? `${section}.` : '';
		return {
			get<T>(key: string, fallback?: T): T | undefined {
				const value = (key in stub.config ? stub.config[key] : declaredDefault(`${prefix}${key}`)) as T | undefined;
				return value === undefined ? fallback : value;
			},
			inspect<T>(key: string) {
				return { key: `${prefix}${key}`, defaultValue: declaredDefault(`${prefix}${key}`) as T | undefined,
					globalValue: stub.config[key] as T | undefined };
			},
			update(key: string, value: unknown, target: unknown): Promise<void> {
				stub.configUpdates.push([`${prefix}${key}`, value, target]);
				stub.changeSettings({ [key]: value });
				return Promise.resolve();
			},
		};
	},
	onDidChangeConfiguration: stub.configurationChanged.event,
	onDidChangeTextDocument: stub.documentChanged.event,
	onDidCloseTextDocument: stub.documentClosed.event,
	onDidOpenTextDocument: stub.documentOpened.event,
	applyEdit(edit: WorkspaceEdit): Promise<boolean> {
		stub.appliedEdits.push(edit);
		return Promise.resolve(stub.applyEditAnswer);
	},
	get textDocuments() {
		return stub.openDocuments;
	},
	workspaceFolders: undefined,
	notebookDocuments: [],
});

export const commands = {
	registerCommand(id: string, handler: (...args: any[]) => unknown): Disposable {
		stub.commands.set(id, handler);
		return new Disposable(() => stub.commands.delete(id));
	},
	async executeCommand(id: string, ...args: unknown[]): Promise<unknown> {
		stub.executed.push([id, args]);
		return stub.commands.get(id)?.(...args);
	},
};

export const languages: Record<string, any> = lenient('languages', {
	registerInlineCompletionItemProvider(selector: unknown, provider: unknown): Disposable {
		stub.inlineProviders.push(provider);
		return new Disposable(() => { stub.inlineProviders = stub.inlineProviders.filter(p => p !== provider); });
	},
	match: () => 10,
});

export const env: Record<string, any> = lenient('env', { language: 'en', machineId: 'stub', sessionId: 'stub', appName: 'stub' });
export const version = '1.91.0';

