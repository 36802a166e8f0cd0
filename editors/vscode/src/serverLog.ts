// The server's stderr in the "Code Llama" output channel at the level each line has. The server
// writes Python log records there as "LEVEL logger: message" (codellama_lsp/cli.py), warnings
// and errors only; vscode-languageclient would log every line as an error.
import type { LogOutputChannel } from 'vscode';
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';

export type Level = 'error' | 'warn' | 'info' | 'debug';

/** The level of one stderr line; a line without a level (a traceback's) is an error. */
export function levelOf(line: string): Level {
	const word = /^(CRITICAL|ERROR|WARNING|INFO|DEBUG) /.exec(line)?.[1];
	switch (word) {
		case 'WARNING':
			return 'warn';
		case 'INFO':
			return 'info';
		case 'DEBUG':
			return 'debug';
		default:
			return 'error';
	}
}

/** Log each line of `input` in `channel` at its level. */
export function pipeServerLog(input: Readable, channel: LogOutputChannel): void {
	createInterface({ input, crlfDelay: Infinity, terminal: false, historySize: 0 })
		.on('line', line => channel[levelOf(line)](line));
}
