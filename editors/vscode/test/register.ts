// Loaded with `node --require` before the tests: `require('vscode')` gets the stub.
import Module = require('node:module');

const stubPath = require.resolve('./stub/vscode');
const moduleWithResolver = Module as unknown as {
	_resolveFilename(request: string, ...rest: unknown[]): string;
};
const resolve = moduleWithResolver._resolveFilename;
moduleWithResolver._resolveFilename = function (request: string, ...rest: unknown[]): string {
	return request === 'vscode' ? stubPath : resolve.call(this, request, ...rest);
};

// Names the stub does not define (enums and classes that vscode-languageclient reads when it
// builds its converters) are stand-ins that accept any use.
const stubModule = require(stubPath);
require.cache[stubPath]!.exports = new Proxy(stubModule, {
	get: (target, key) => key in target || typeof key === 'symbol'
		? target[key] : stubModule.standIn(`vscode.${String(key)}`),
});
