// Files the extension never sends to the server, whatever the settings. Generated from
// codellama_lsp/settings_schema.py by `python -m codellama_lsp.settings_docs --write`: do not edit.

export const SECRET_FILES: readonly string[] = [
	'.env',
	'.env.*',
	'*.env',
	'*.pem',
	'*.key',
	'*.p12',
	'*.pfx',
	'*.jks',
	'*.keystore',
	'id_rsa*',
	'id_dsa*',
	'id_ecdsa*',
	'id_ed25519*',
	'.netrc',
	'.pgpass',
	'.npmrc',
	'.pypirc',
	'.git-credentials',
	'.aws/credentials',
	'.docker/config.json',
];
