-- Next-edit suggestions (`textDocument/copilotInlineEdit`, the wire of Copilot's next edits):
-- after a change, once in normal mode (also on leaving insert mode), the plugin asks at once and the server
-- answers after the pause (its `nextEditDelayMs`; a change meanwhile cancels it). The edit is
-- drawn in place: deleted text highlighted, new lines as virtual lines below. <Tab> jumps to
-- it, a second <Tab> applies it (one undo step, only to the buffer it was made for), <Esc>
-- dismisses it, and it clears once the cursor moves away or the text changes.
local util = require("codellama.util")

local M = {}

M.ns = vim.api.nvim_create_namespace("codellama.next_edit")
M.HL_DELETE = "CodeLlamaNextEditDelete"
M.HL_ADD = "CodeLlamaNextEditAdd"
M.defaults = {
  enabled = true, -- false: never ask for next edits
  keymaps = { accept = "<Tab>", dismiss = "<Esc>" }, -- normal mode; false leaves a key unmapped
}
-- What the plugin did since it started (tests and :CodeLlamaStats read it).
M.counters = { requests = 0, shown = 0, jumped = 0, applied = 0, refused = 0, dismissed = 0 }

local METHOD = "textDocument/copilotInlineEdit"
local DID_SHOW = "textDocument/didShowInlineEdit"
local REQUEST_CANCELLED = -32800

local options = vim.deepcopy(M.defaults)
local attached = {} -- buffers with keys and autocmds
local pending = {} -- buffer -> { client, id, seq }
-- buffer -> { edit, client, tick, version, anchor_row, first = {row, col}, last_row }
local shown = {}
local sequence = 0

local function set_highlights()
  vim.api.nvim_set_hl(0, M.HL_DELETE, { link = "DiffDelete", default = true })
  vim.api.nvim_set_hl(0, M.HL_ADD, { link = "DiffAdd", default = true })
end

local function lines_of(buf, first, last)
  return vim.api.nvim_buf_get_lines(buf, first, last + 1, false)
end

--- The bytes `a` and `b` share at their start, and then at their end (not overlapping).
local function common(a, b)
  local limit = math.min(#a, #b)
  local head = 0
  while head < limit and a:byte(head + 1) == b:byte(head + 1) do
    head = head + 1
  end
  local tail = 0
  while tail < limit - head and a:byte(#a - tail) == b:byte(#b - tail) do
    tail = tail + 1
  end
  return head, tail
end

--- The range of `edit` in bytes: start row/col, end row/col (0-based), clamped to the buffer.
local function byte_range(buf, edit, encoding)
  local count = vim.api.nvim_buf_line_count(buf)
  local function at(position)
    if position.line >= count then
      local last = lines_of(buf, count - 1, count - 1)[1] or ""
      return count - 1, #last
    end
    local line = lines_of(buf, position.line, position.line)[1] or ""
    return position.line, util.byte_col(line, position.character, encoding)
  end
  local sr, sc = at(edit.range.start)
  local er, ec = at(edit.range["end"])
  return sr, sc, er, ec
end

--- Where the buffer's lines and the edited lines differ: the first row, and per changed line
--- the bytes deleted and the line as it becomes; or a block when the counts differ.
local function changes(buf, edit, encoding)
  local sr, sc, er, ec = byte_range(buf, edit, encoding)
  local old = lines_of(buf, sr, er)
  local new = vim.split(old[1]:sub(1, sc) .. edit.text .. old[#old]:sub(ec + 1), "\n",
    { plain = true })
  -- Lines equal at the top and the bottom are no change.
  local top = 0
  while top < math.min(#old, #new) and old[top + 1] == new[top + 1] do
    top = top + 1
  end
  local bottom = 0
  while bottom < math.min(#old, #new) - top and old[#old - bottom] == new[#new - bottom] do
    bottom = bottom + 1
  end
  old = vim.list_slice(old, top + 1, #old - bottom)
  new = vim.list_slice(new, top + 1, #new - bottom)
  return sr + top, old, new
end

--- Draw the change from `old` lines (at `row`) to `new`: each deleted part highlighted, the
--- new lines as virtual lines below; the first changed position and the last changed row.
local function draw(buf, row, old, new)
  local first
  local function deleted(r, from, to)
    if to > from then
      vim.api.nvim_buf_set_extmark(buf, M.ns, r, from, { end_row = r, end_col = to,
        hl_group = M.HL_DELETE, priority = 200 })
    end
  end
  local function added(r, texts, above)
    local virt = vim.tbl_map(function(text) return { { text, M.HL_ADD } } end, texts)
    vim.api.nvim_buf_set_extmark(buf, M.ns, r, 0, { virt_lines = virt, virt_lines_above = above })
  end
  if #old == #new then
    for i = 1, #old do -- line by line: only the part that changes is deleted
      local head, tail = common(old[i], new[i])
      deleted(row + i - 1, head, #old[i] - tail)
      added(row + i - 1, { new[i] })
      first = first or { row + i - 1, head }
    end
    return first, row + #old - 1
  end
  for i = 1, #old do
    deleted(row + i - 1, 0, #old[i])
  end
  if #new > 0 then
    if #old > 0 then
      added(row + #old - 1, new)
    elseif row > 0 then
      added(row - 1, new)
    else
      added(0, new, true)
    end
  end
  return { math.max(0, #old > 0 and row or row - 1), 0 }, row + math.max(#old, 1) - 1
end

function M.clear(buf)
  shown[buf] = nil
  if vim.api.nvim_buf_is_valid(buf) then
    vim.api.nvim_buf_clear_namespace(buf, M.ns, 0, -1)
  end
end

local function cancel_pending(buf)
  local p = pending[buf]
  if p then
    pending[buf] = nil
    pcall(util.cancel, p.client, p.id)
  end
end

--- Hide the next edit shown in `buf` and cancel the one asked for (also on :CodeLlamaToggle).
function M.stop(buf)
  cancel_pending(buf)
  M.clear(buf)
end

--- Whether a next edit is shown in `buf` (the current buffer when nil).
function M.visible(buf)
  return shown[buf or vim.api.nvim_get_current_buf()] ~= nil
end

local function show(buf, client, ask, edit)
  local ok, row, old, new = pcall(changes, buf, edit, client.offset_encoding)
  if not ok or (#old == 0 and #new == 0) then
    return -- an edit past the end, or one that changes nothing
  end
  M.clear(buf)
  local first, last_row = draw(buf, row, old, new)
  shown[buf] = { edit = edit, client = client, tick = ask.tick, version = ask.version,
    anchor_row = ask.row, first = first, last_row = last_row }
  M.counters.shown = M.counters.shown + 1
  util.notify(client, DID_SHOW, { item = edit })
end

local function on_answer(buf, client, ask, err, result)
  local p = pending[buf]
  if not p or p.seq ~= ask.seq then
    return -- superseded
  end
  pending[buf] = nil
  if err then
    if err.code ~= REQUEST_CANCELLED then
      vim.notify("codellama: next edit: " .. tostring(err.message), vim.log.levels.WARN)
    end
    return
  end
  local edit = result and result.edits and result.edits[1] -- alternatives: the first
  if not edit or not vim.api.nvim_buf_is_valid(buf) or buf ~= vim.api.nvim_get_current_buf()
    or vim.api.nvim_get_mode().mode ~= "n"
    or vim.api.nvim_buf_get_changedtick(buf) ~= ask.tick
    or (edit.textDocument and edit.textDocument.version ~= ask.version) then
    return -- nothing, or for a text or a mode that moved on
  end
  show(buf, client, ask, edit)
end

--- Ask for the next edit at the cursor of `buf` now (the server waits for the pause).
function M.request(buf)
  M.stop(buf)
  -- Off where suggestions are off: :CodeLlamaToggle, vim.b.codellama_enabled, disabled_filetypes.
  local suggestion = require("codellama.suggestion")
  if not options.enabled or not suggestion.enabled or not suggestion.allowed(buf)
    or buf ~= vim.api.nvim_get_current_buf() then
    return
  end
  local client = util.client(buf)
  if not client then
    return
  end
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  -- The version is what Neovim sends with didChange (the changedtick of the change).
  local version = vim.lsp.util.buf_versions[buf]
  params.textDocument.version = version
  sequence = sequence + 1
  local ask = { seq = sequence, tick = vim.api.nvim_buf_get_changedtick(buf), version = version,
    row = vim.api.nvim_win_get_cursor(0)[1] - 1 }
  M.counters.requests = M.counters.requests + 1
  local ok, id = util.request(client, METHOD, params, function(err, result)
    on_answer(buf, client, ask, err, result)
  end, buf)
  if ok and id then
    pending[buf] = { client = client, id = id, seq = ask.seq }
  end
end

--- Dismiss the shown next edit; false if none was shown.
function M.dismiss(buf)
  buf = buf or vim.api.nvim_get_current_buf()
  if not shown[buf] then
    return false
  end
  M.clear(buf)
  M.counters.dismissed = M.counters.dismissed + 1
  return true
end

--- Apply the shown edit as one undo step, unless the buffer changed since it was asked for.
function M.apply(buf)
  buf = buf or vim.api.nvim_get_current_buf()
  local s = shown[buf]
  if not s then
    return false
  end
  M.clear(buf)
  if vim.api.nvim_buf_get_changedtick(buf) ~= s.tick
    or vim.lsp.util.buf_versions[buf] ~= s.version then
    M.counters.refused = M.counters.refused + 1
    vim.notify("codellama: the buffer changed since the next edit was made; nothing applied",
      vim.log.levels.WARN)
    return false
  end
  -- One call, no undo sync in between: one undo step.
  vim.lsp.util.apply_text_edits({ { range = s.edit.range, newText = s.edit.text } }, buf,
    s.client.offset_encoding)
  M.counters.applied = M.counters.applied + 1
  local command = s.edit.command
  if command and command.command then
    util.execute(s.client, command.command, command.arguments, buf)
  end
  return true
end

--- <Tab>: jump to the shown edit, or apply it when the cursor is on it already.
function M.accept(buf)
  buf = buf or vim.api.nvim_get_current_buf()
  local s = shown[buf]
  if not s then
    return false
  end
  local row = vim.api.nvim_win_get_cursor(0)[1] - 1
  if row ~= s.first[1] then
    vim.cmd("normal! m'") -- the jump goes to the jumplist: <C-o> comes back
    vim.api.nvim_win_set_cursor(0, { s.first[1] + 1, s.first[2] })
    M.counters.jumped = M.counters.jumped + 1
    return true
  end
  return M.apply(buf)
end

--- Clear once the cursor leaves the lines from where it was to the last line of the edit.
local function on_cursor_moved(buf)
  local s = shown[buf]
  if not s then
    return
  end
  local row = vim.api.nvim_win_get_cursor(0)[1] - 1
  if row < math.min(s.anchor_row, s.first[1]) or row > math.max(s.anchor_row, s.last_row) then
    M.clear(buf)
  end
end

--- A normal-mode key that acts on a shown next edit and otherwise does what it did before.
local function map(buf, name, lhs, action)
  local previous = vim.api.nvim_buf_call(buf, function()
    return vim.fn.maparg(lhs, "n", false, true)
  end)
  local fallback = lhs
  local remap = false
  if not vim.tbl_isempty(previous) and not (previous.desc or ""):find("^codellama") then
    fallback = "<Plug>(codellama-next-edit-previous-" .. name .. ")"
    vim.api.nvim_buf_set_keymap(buf, "n", fallback, previous.rhs or "", {
      expr = previous.expr == 1, noremap = previous.noremap == 1, silent = previous.silent == 1,
      callback = previous.callback,
      replace_keycodes = previous.expr == 1 and previous.replace_keycodes == 1 or nil,
    })
    remap = true
  end
  vim.keymap.set("n", lhs, function()
    if shown[buf] then
      return "<Cmd>lua require('codellama.next_edit')." .. action .. "()<CR>"
    end
    return fallback
  end, { buffer = buf, expr = true, remap = remap, silent = true,
    desc = "codellama next edit " .. name })
end

--- Next edits for a buffer the server attached to; `opts` is setup()'s `next_edit` table.
function M.attach(buf, opts)
  options = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts or {})
  if attached[buf] or not options.enabled then
    return
  end
  attached[buf] = true
  set_highlights()
  local group = vim.api.nvim_create_augroup("codellama.next_edit." .. buf, { clear = true })
  local function on(events, callback)
    vim.api.nvim_create_autocmd(events, { group = group, buffer = buf,
      callback = function() callback(buf) end })
  end
  on("TextChanged", M.request) -- also once back in normal mode after typing
  on({ "InsertEnter", "BufLeave" }, M.stop)
  on("CursorMoved", on_cursor_moved)
  vim.api.nvim_create_autocmd("ColorScheme", { group = group, callback = set_highlights })
  for name, action in pairs({ accept = "accept", dismiss = "dismiss" }) do
    if options.keymaps[name] then
      map(buf, name, options.keymaps[name], action)
    end
  end
end

return M
