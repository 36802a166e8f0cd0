-- The plugin's options: defaults and the merge with what the user passes to setup().
local M = {}

M.defaults = {
  -- The language server: `codellama lsp` from `pip install codellama-lsp`.
  cmd = { "codellama", "lsp" },
  cmd_env = nil, -- extra environment for the server process
  -- Server settings (see the project's README: model, engine, maxNewTokens, fimFormat, ...),
  -- sent as initializationOptions and as the `codellama` section of the settings.
  settings = {},
  -- Filetypes that start the server; { "*" } for every file buffer.
  filetypes = {
    "python", "javascript", "javascriptreact", "typescript", "typescriptreact", "java", "c",
    "cpp", "cs", "php", "sh", "bash", "go", "rust",
  },
  root_markers = { ".git" },
  debounce_ms = 75, -- wait after a keystroke before asking the server
  enabled = true, -- false: start with suggestions off (:CodeLlamaToggle)
  -- Neovim 0.12+: use the built-in vim.lsp.inline_completion instead of the plugin's ghost
  -- text (no accept word/line there).
  native = false,
  -- Highlight of the ghost text: a group name, or a table for nvim_set_hl.
  highlight = "Comment",
  -- Keys in insert mode; false leaves a key unmapped. Each key falls back to what it did
  -- before (the previous mapping, the completion menu, the key itself) when nothing is shown.
  keymaps = {
    accept = "<Tab>",
    accept_word = "<M-w>",
    accept_line = "<M-l>",
    next = "<M-]>",
    prev = "<M-[>",
    dismiss = "<C-]>",
  },
}

--- The defaults overridden by `user` (tables merged deeply, lists replaced).
---@param user table|nil
---@return table
function M.merge(user)
  local merged = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), user or {})
  for _, key in ipairs({ "cmd", "filetypes", "root_markers" }) do
    if user and user[key] then
      merged[key] = user[key]
    end
  end
  -- The plugin debounces and cancels by itself: a second wait on the server only adds latency.
  if merged.settings.debounceMs == nil then
    merged.settings.debounceMs = 0
  end
  return merged
end

return M
