// The server's settings, which the extension sends where the user set them. Generated from
// codellama_lsp/settings_schema.py by `python -m codellama_lsp.settings_docs --write`: do not edit.

export const SERVER_SETTINGS: readonly string[] = [
	'engine',
	'model',
	'device',
	'dtype',
	'deviceMap',
	'quantize',
	'contextWindow',
	'maxNewTokens',
	'fimFormat',
	'tokenHealing',
	'debounceMs',
	'languages',
	'invokedItems',
	'invokedTemperature',
	'topP',
	'loadWaitMs',
	'maxTimeMs',
	'instructModel',
	'editMaxNewTokens',
	'kvReuse',
	'promptLookup',
	'compile',
	'prewarm',
];
