// The info line (`codellama.showInfo`): what the suggestion shown cost, from the server's
// `codellama/stats` (`last_answer`), as llama.vim's `show_info` does.

/** `codellama/stats`'s `last_answer`: the latest answer with items. */
export interface LastAnswer {
	item_ids: number[];
	ms: number;
	generated_tokens: number;
	prompt_tokens: number;
	reused_prompt_tokens: number;
	cached: boolean;
}

/** One short line, e.g. "12 tokens, 85 ms, 1020/1100 prompt ids reused". */
export function infoLine(last: LastAnswer): string {
	const ms = `${Math.round(last.ms)} ms`;
	if (last.cached) {
		return `cached, ${ms}`;
	}
	return `${last.generated_tokens} tokens, ${ms}, `
		+ `${last.reused_prompt_tokens}/${last.prompt_tokens} prompt ids reused`;
}

/** The line for an answer whose items have these ids, if `last` is that answer. */
export function infoFor(last: LastAnswer | null | undefined, ids: readonly number[]): string | undefined {
	if (!last || !Array.isArray(last.item_ids) || !ids.some(id => last.item_ids.includes(id))) {
		return undefined;
	}
	return infoLine(last);
}
