-- Insert-mode keys that act on a shown suggestion and otherwise do what they did before the
-- plugin: the previous mapping (kept under a <Plug> name), the completion menu's Tab, or the
-- key itself.
local suggestion = require("codellama.suggestion")

local M = {}

--- Re-create the mapping `lhs` had in `buf` before the plugin under a <Plug> name; the name,
--- or nil when `lhs` was not mapped.
local function keep_previous(buf, name, lhs)
  local previous = vim.api.nvim_buf_call(buf, function()
    return vim.fn.maparg(lhs, "i", false, true)
  end)
  if vim.tbl_isempty(previous) or (previous.desc or ""):find("^codellama") then
    return nil
  end
  local plug = "<Plug>(codellama-previous-" .. name .. ")"
  vim.api.nvim_buf_set_keymap(buf, "i", plug, previous.rhs or "", {
    expr = previous.expr == 1,
    noremap = previous.noremap == 1,
    silent = previous.silent == 1,
    nowait = previous.nowait == 1,
    replace_keycodes = previous.expr == 1 and previous.replace_keycodes == 1 or nil,
    callback = previous.callback,
  })
  return plug
end

--- The key itself, never remapped.
local function literal(buf, name, lhs)
  local plug = "<Plug>(codellama-literal-" .. name .. ")"
  vim.api.nvim_buf_set_keymap(buf, "i", plug, lhs, { noremap = true })
  return plug
end

--- Map `lhs` in `buf`: `when_shown()` gives the keys to run while a suggestion is shown
--- (nil: fall back); `use_menu` sends <C-n> to an open completion menu.
local function map(buf, name, lhs, when_shown, use_menu)
  local kept = keep_previous(buf, name, lhs)
  local fallback = kept or literal(buf, name, lhs)
  vim.keymap.set("i", lhs, function()
    local menu = vim.fn.pumvisible() == 1
    if not menu then
      local keys = when_shown()
      if keys then
        return keys
      end
    end
    if menu and use_menu and not kept then
      return "<C-n>"
    end
    return fallback
  end, { buffer = buf, expr = true, remap = true, silent = true, desc = "codellama " .. name })
end

local function run(action)
  return function()
    if suggestion.visible() then
      return "<Cmd>lua require('codellama.suggestion')." .. action .. "<CR>"
    end
  end
end

--- The plugin's own keys (ghost text drawn by the plugin).
function M.attach(buf, keys)
  local actions = {
    accept = run("accept(nil, 'all')"),
    accept_word = run("accept(nil, 'word')"),
    accept_line = run("accept(nil, 'line')"),
    next = function() return "<Cmd>lua require('codellama.suggestion').cycle(nil, 1)<CR>" end,
    prev = function() return "<Cmd>lua require('codellama.suggestion').cycle(nil, -1)<CR>" end,
    suggest = function() return "<Cmd>lua require('codellama.suggestion').suggest(nil)<CR>" end,
    dismiss = function()
      if suggestion.visible() then
        return "<Cmd>lua require('codellama.suggestion').dismiss(vim.api.nvim_get_current_buf())<CR>"
      end
    end,
  }
  for name, action in pairs(actions) do
    if keys[name] then
      map(buf, name, keys[name], action, name == "accept")
    end
  end
end

--- Keys for Neovim 0.12's vim.lsp.inline_completion (no accept word/line there).
function M.attach_native(buf, keys)
  local native = vim.lsp.inline_completion
  local actions = {
    accept = function()
      if native.get({ bufnr = buf }) then
        return ""
      end
    end,
    next = function() return "<Cmd>lua vim.lsp.inline_completion.select({ count = 1 })<CR>" end,
    prev = function() return "<Cmd>lua vim.lsp.inline_completion.select({ count = -1 })<CR>" end,
  }
  for name, action in pairs(actions) do
    if keys[name] then
      map(buf, name, keys[name], action, name == "accept")
    end
  end
end

return M
