-- Code Llama in Neovim: starts `codellama lsp` for the configured filetypes, draws its inline
-- completions as ghost text, and adds :CodeLlamaEdit, :CodeLlamaToggle, :CodeLlamaStats.
local config_mod = require("codellama.config")
local files = require("codellama.files")
local ghost = require("codellama.ghost")
local keymaps = require("codellama.keymaps")
local prewarm = require("codellama.prewarm")
local status = require("codellama.status")
local suggestion = require("codellama.suggestion")
local util = require("codellama.util")

local M = {}

M.config = nil -- the merged options once setup() ran
local attached = {} -- buffers whose keys and autocmds are set

local function use_native()
  return M.config.native and vim.lsp.inline_completion ~= nil
end

local function wants(buf)
  if vim.bo[buf].buftype ~= "" then
    return false
  end
  -- Never sent to the server: the server is not even attached to the buffer.
  if files.excluded_by(vim.api.nvim_buf_get_name(buf), M.config.exclude_files) then
    return false
  end
  local filetype = vim.bo[buf].filetype
  for _, wanted in ipairs(M.config.filetypes) do
    if wanted == "*" and filetype ~= "" or wanted == filetype then
      return true
    end
  end
  return false
end

local function with_status(default, before)
  return function(err, result, ctx, cfg)
    before(result)
    local handler = vim.lsp.handlers[default]
    if handler then
      return handler(err, result, ctx, cfg)
    end
  end
end

local function refresh_model_state(client)
  util.request(client, "codellama/stats", {}, function(_, stats)
    if stats then
      status.from_model(stats.model)
    end
  end)
end

local function capabilities()
  local caps = vim.lsp.protocol.make_client_capabilities()
  caps.textDocument = caps.textDocument or {}
  -- The server then answers textDocument/completion with nothing: no duplicate in the menu.
  caps.textDocument.inlineCompletion = caps.textDocument.inlineCompletion
    or { dynamicRegistration = false }
  return caps
end

--- Start (or reuse) the server for `buf`.
function M.start(buf)
  local c = M.config
  return vim.lsp.start({
    name = util.NAME,
    cmd = c.cmd,
    cmd_env = c.cmd_env,
    root_dir = vim.fs.root(buf, c.root_markers) or vim.fn.getcwd(),
    init_options = c.settings,
    settings = { codellama = c.settings },
    capabilities = capabilities(),
    handlers = {
      ["$/progress"] = with_status("$/progress", function(result)
        status.on_progress(result and result.value)
      end),
      ["window/showMessage"] = with_status("window/showMessage", function(result)
        if result and result.type == vim.lsp.protocol.MessageType.Error then
          status.set("error", result.message)
        end
      end),
    },
    on_init = function(client)
      status.set("loading")
      refresh_model_state(client)
    end,
    on_exit = function(code)
      status.set(code == 0 and "off" or "error", "the server exited with code " .. code)
    end,
  }, { bufnr = buf })
end

local function buffer_autocmds(buf)
  local group = vim.api.nvim_create_augroup("codellama.buffer." .. buf, { clear = true })
  vim.api.nvim_create_autocmd({ "InsertEnter", "TextChangedI", "CursorMovedI" }, {
    group = group, buffer = buf,
    callback = function() suggestion.on_change(buf) end,
  })
  vim.api.nvim_create_autocmd({ "InsertLeave", "BufLeave" }, {
    group = group, buffer = buf,
    callback = function() suggestion.dismiss(buf) end,
  })
  vim.api.nvim_create_autocmd("CompleteChanged", {
    group = group, buffer = buf,
    callback = function() suggestion.clear(buf) end,
  })
end

--- Keys and autocmds for a buffer the server attached to (once per buffer).
function M.attach(buf, client)
  if attached[buf] then
    return
  end
  attached[buf] = true
  if use_native() then
    vim.lsp.inline_completion.enable(suggestion.enabled, { bufnr = buf })
    keymaps.attach_native(buf, M.config.keymaps)
  else
    buffer_autocmds(buf)
    keymaps.attach(buf, M.config.keymaps)
  end
  prewarm.attach(buf)
  require("codellama.next_edit").attach(buf, M.config.next_edit)
  refresh_model_state(client)
end

--- Suggestions on or off (all buffers).
function M.toggle()
  suggestion.enabled = not suggestion.enabled
  if use_native() then
    vim.lsp.inline_completion.enable(suggestion.enabled)
  end
  if not suggestion.enabled then
    for buf in pairs(attached) do
      suggestion.dismiss(buf)
      require("codellama.next_edit").stop(buf)
    end
  end
  vim.notify("codellama: suggestions " .. (suggestion.enabled and "on" or "off"))
  return suggestion.enabled
end

--- `codellama/stats` (and the plugin's own counters) in a scratch buffer.
function M.stats()
  local client = util.client()
  if not client then
    vim.notify("codellama: no server running", vim.log.levels.WARN)
    return
  end
  util.request(client, "codellama/stats", {}, function(err, result)
    local report = { server = err or result, plugin = suggestion.counters,
      edits = require("codellama.edit").counters,
      next_edits = require("codellama.next_edit").counters, status = status.state, detail = status.detail }
    local lines = vim.split(vim.inspect(report), "\n")
    vim.cmd("botright new")
    local scratch = vim.api.nvim_get_current_buf()
    vim.bo[scratch].buftype, vim.bo[scratch].bufhidden = "nofile", "wipe"
    vim.api.nvim_buf_set_lines(scratch, 0, -1, false, lines)
    vim.bo[scratch].filetype, vim.bo[scratch].modifiable = "lua", false
    vim.api.nvim_buf_set_name(scratch, "codellama://stats")
  end)
end

M.statusline = status.statusline

local function commands()
  vim.api.nvim_create_user_command("CodeLlamaEdit", function(opts)
    require("codellama.edit").command(opts)
  end, { range = true, nargs = "*", desc = "Rewrite the lines as instructed (Code Llama - Instruct)" })
  vim.api.nvim_create_user_command("CodeLlamaToggle", M.toggle,
    { desc = "Turn Code Llama suggestions on or off" })
  vim.api.nvim_create_user_command("CodeLlamaStats", M.stats,
    { desc = "Show what the Code Llama server did" })
  vim.api.nvim_create_user_command("CodeLlamaSuggest", function()
    suggestion.cycle(vim.api.nvim_get_current_buf(), 1)
  end, { desc = "Ask Code Llama now for up to 3 different suggestions" })
end

local function global_autocmds()
  local group = vim.api.nvim_create_augroup("codellama", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    callback = function(args)
      if wants(args.buf) then
        M.start(args.buf)
      end
    end,
  })
  vim.api.nvim_create_autocmd("ColorScheme", {
    group = group,
    callback = function() ghost.set_highlight(M.config.highlight) end,
  })
  vim.api.nvim_create_autocmd("LspAttach", {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == util.NAME then
        M.attach(args.buf, client)
      end
    end,
  })
end

---@param opts table|nil see :help codellama-setup
function M.setup(opts)
  local problems, kept = config_mod.check(opts or {})
  if #problems > 0 then
    vim.notify("codellama: setup(): " .. table.concat(problems, "; "), vim.log.levels.ERROR)
  end
  M.config = config_mod.merge(kept)
  suggestion.allowed = function(buf)
    return files.off_reason(buf, M.config.disabled_filetypes) == nil
  end
  prewarm.rest_ms = M.config.prewarm_ms
  suggestion.enabled = M.config.enabled
  suggestion.debounce_ms = M.config.debounce_ms
  ghost.set_highlight(M.config.highlight)
  commands()
  global_autocmds()
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) and wants(buf) then
      M.start(buf)
    end
  end
end

return M
