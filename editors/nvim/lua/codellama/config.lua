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
  -- Tell the server where the cursor rests (codellama/prewarm) after it stayed this long.
  prewarm_ms = 250,
  enabled = true, -- false: start with suggestions off (:CodeLlamaToggle)
  -- Filetypes where suggestions are off (the server still gets the buffer, for edits).
  disabled_filetypes = {},
  -- More globs of files never sent to the server (the secret files never are: `.env`,
  -- `*.pem`, `*.key`, `id_rsa*`, ...). Without `/` a glob matches the name, with `/` the end
  -- of the path.
  exclude_files = {},
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
    accept_line = "<M-l>", -- the rest of the line (copilot.lua's <M-l> takes it all)
    next = "<M-]>",
    prev = "<M-[>",
    dismiss = "<C-]>",
    suggest = "<M-\\>", -- ask now, for up to 3 different suggestions
  },
}

-- The type each option takes (those whose default is nil or of several types).
local TYPES = {
  cmd_env = "table",
  highlight = { "string", "table" },
}

--- One line per misspelt or mistyped option of `user` (empty: all fine), and `user` without
--- those options (the defaults stand in for them).
---@param user table
---@return string[], table
function M.check(user)
  local problems = {}
  local function check(prefix, given, defaults, types)
    local kept = {}
    for key, value in pairs(given) do
      local name = prefix .. tostring(key)
      local expected = types[key] or (defaults[key] ~= nil and type(defaults[key]))
      local ok, err = true, nil
      if not expected then
        ok, err = false, "unknown option " .. name
      else
        ok, err = pcall(vim.validate, name, value, expected)
      end
      if not ok then
        table.insert(problems, (tostring(err):gsub("^.-:%d+: ", "")))
      elseif key == "keymaps" then
        local keys = {} -- a key, or false to leave it unmapped
        for k in pairs(M.defaults.keymaps) do
          keys[k] = { "string", "boolean" }
        end
        kept[key] = check("keymaps.", value, M.defaults.keymaps, keys)
      else
        kept[key] = value
      end
    end
    return kept
  end
  if type(user) ~= "table" then
    return { "setup() takes a table of options" }, {}
  end
  local kept = check("", user, M.defaults, TYPES)
  table.sort(problems)
  return problems, kept
end

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
