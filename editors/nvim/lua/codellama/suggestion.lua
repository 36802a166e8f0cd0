-- The plugin's own ghost-text layer: asks the server for inline completions while the user
-- types, shows them, trims them locally while the typed characters match, accepts them whole,
-- by word or by line, and cycles through several.
local ghost = require("codellama.ghost")
local status = require("codellama.status")
local util = require("codellama.util")

local M = {}

M.enabled = true
-- Whether suggestions are on in a buffer (codellama.files: vim.b.codellama_enabled, filetypes).
M.allowed = function(_)
  return true
end
M.debounce_ms = 75
-- What the plugin did since it started (tests and :CodeLlamaStats read it).
M.counters = { requests = 0, answers = 0, cancelled = 0, trimmed = 0, accepted = 0 }

local INVOKED, AUTOMATIC = 1, 2
local REQUEST_CANCELLED = -32800

-- buffer -> { items = { {text, id, replace_bytes} }, index, row, col, prefix, accepted }
-- row/col (0-based, byte) is where the suggestion starts; prefix the line's text before it.
local shown = {}
local pending = {} -- buffer -> { client, id, seq }
local timers = {}
local sequence = 0

status.set_busy_probe(function()
  return next(pending) ~= nil
end)

local function cursor()
  local pos = vim.api.nvim_win_get_cursor(0)
  return pos[1] - 1, pos[2]
end

local function line_at(buf, row)
  return vim.api.nvim_buf_get_lines(buf, row, row + 1, false)[1] or ""
end

--- The part of the shown item not typed yet, and the typed part; nil when the text at the
--- cursor no longer matches the suggestion.
local function remaining(buf)
  local s = shown[buf]
  if not s or buf ~= vim.api.nvim_get_current_buf() then
    return nil
  end
  local row, col = cursor()
  if row ~= s.row or col < s.col then
    return nil
  end
  local line = line_at(buf, row)
  if line:sub(1, s.col) ~= s.prefix then
    return nil
  end
  local typed = line:sub(s.col + 1, col)
  local text = s.items[s.index].text
  if text:sub(1, #typed) ~= typed then
    return nil
  end
  return text:sub(#typed + 1), typed
end

--- What to draw: the rest, less the text right of the cursor that the item replaces (an
--- auto-closed bracket the suggestion already ends with).
local function display_text(buf, rest)
  local item = shown[buf].items[shown[buf].index]
  if item.replace_bytes == 0 or rest:find("\n") then
    return rest
  end
  local row, col = cursor()
  local replaced = line_at(buf, row):sub(col + 1, col + item.replace_bytes)
  if replaced ~= "" and rest:sub(-#replaced) == replaced then
    return rest:sub(1, #rest - #replaced)
  end
  return rest
end

local function render(buf, rest)
  local row, col = cursor()
  local s = shown[buf]
  local counter = #s.items > 1 and string.format(" (%d/%d)", s.index, #s.items) or nil
  ghost.show(buf, row, col, display_text(buf, rest), counter)
end

--- Whether a suggestion is on screen and still matches the text.
function M.visible(buf)
  buf = buf or vim.api.nvim_get_current_buf()
  local rest = remaining(buf)
  return rest ~= nil and rest ~= "" and ghost.shown(buf)
end

function M.clear(buf)
  shown[buf] = nil
  ghost.clear(buf)
end

local function cancel_pending(buf)
  local p = pending[buf]
  if p then
    pending[buf] = nil
    M.counters.cancelled = M.counters.cancelled + 1
    pcall(util.cancel, p.client, p.id)
  end
end

local function stop_timer(buf)
  if timers[buf] then
    timers[buf]:stop()
    timers[buf]:close()
    timers[buf] = nil
  end
end

--- Clear the suggestion, stop the debounce and cancel the request in flight.
function M.dismiss(buf)
  stop_timer(buf)
  cancel_pending(buf)
  M.clear(buf)
end

--- Keep the suggestion while the typed text matches it (no request); true if kept.
local function trim(buf)
  local rest = remaining(buf)
  if not rest or rest == "" then
    return false
  end
  render(buf, rest)
  M.counters.trimmed = M.counters.trimmed + 1
  return true
end

local function item_text(item)
  local text = item.insertText
  if type(text) == "table" then
    text = text.value -- a StringValue (snippet)
  end
  return type(text) == "string" and text or ""
end

--- The items of an answer, with the bytes each replaces right of the cursor.
local function parse_items(result, line, row, col, encoding)
  local items = {}
  for _, item in ipairs((result and (result.items or result)) or {}) do
    local text = item_text(item)
    local replace_bytes = 0
    local range = item.range
    if range and range["end"].line == row then
      replace_bytes = math.max(0, util.byte_col(line, range["end"].character, encoding) - col)
    end
    local id = item.command and item.command.arguments and item.command.arguments[1]
    if text ~= "" then
      table.insert(items, { text = text, id = id, replace_bytes = replace_bytes })
    end
  end
  return items
end

local function on_answer(buf, client, ask, err, result, on_items)
  local p = pending[buf]
  if not p or p.seq ~= ask.seq then
    return -- superseded by a newer request
  end
  pending[buf] = nil
  if err then
    if err.code ~= REQUEST_CANCELLED then
      status.request_failed(err.message)
    end
    return
  end
  status.request_succeeded()
  M.counters.answers = M.counters.answers + 1
  local row, col = cursor()
  if vim.api.nvim_get_current_buf() ~= buf or not util.in_insert_mode()
    or vim.api.nvim_buf_get_changedtick(buf) ~= ask.tick or row ~= ask.row or col ~= ask.col then
    return -- the text or the cursor moved on: a newer request follows
  end
  local line = line_at(buf, row)
  local items = parse_items(result, line, row, col, client.offset_encoding)
  if #items == 0 then
    return
  end
  shown[buf] = { items = items, index = 1, row = row, col = col, prefix = line:sub(1, col),
    accepted = 0 }
  if on_items then
    on_items(items)
  end
  render(buf, remaining(buf) or items[1].text)
end

--- Ask the server for a suggestion at the cursor now (`invoked`: several items).
function M.request(buf, invoked, on_items)
  stop_timer(buf)
  if not M.enabled or not M.allowed(buf) or buf ~= vim.api.nvim_get_current_buf()
    or not util.in_insert_mode() then
    return
  end
  if not invoked and vim.fn.pumvisible() == 1 then
    return
  end
  local client = util.client(buf)
  if not client then
    return
  end
  cancel_pending(buf)
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  params.context = { triggerKind = invoked and INVOKED or AUTOMATIC }
  local row, col = cursor()
  sequence = sequence + 1
  local ask = { seq = sequence, tick = vim.api.nvim_buf_get_changedtick(buf), row = row, col = col }
  M.counters.requests = M.counters.requests + 1
  local ok, id = util.request(client, "textDocument/inlineCompletion", params,
    function(err, result)
      on_answer(buf, client, ask, err, result, on_items)
    end, buf)
  if ok and id then
    pending[buf] = { client = client, id = id, seq = ask.seq }
    status.refresh()
  end
end

--- After a keystroke or a cursor move in insert mode: trim the suggestion while it matches,
--- else clear it and ask again after the debounce.
function M.on_change(buf)
  if not M.enabled or not M.allowed(buf) then
    M.clear(buf)
    return
  end
  if shown[buf] and trim(buf) then
    stop_timer(buf)
    return
  end
  M.clear(buf)
  cancel_pending(buf)
  stop_timer(buf)
  local timer = (vim.uv or vim.loop).new_timer()
  timers[buf] = timer
  timer:start(M.debounce_ms, 0, vim.schedule_wrap(function()
    if timers[buf] == timer then
      M.request(buf, false)
    end
  end))
end

--- The part of `rest` that one accept of `kind` takes: all, word or line.
local function part_of(rest, kind)
  if kind == "word" then
    return rest:match("^%s*[%w_]+") or rest:match("^%s*[^%w_%s]+") or rest:match("^%s+")
  elseif kind == "line" then
    return rest:match("^\n[^\n]*") or rest:match("^[^\n]+")
  end
  return rest
end

local function insert(buf, text, delete_bytes)
  local row, col = cursor()
  local lines = vim.split(text, "\n", { plain = true })
  vim.api.nvim_buf_set_text(buf, row, col, row, col + delete_bytes, lines)
  local end_row = row + #lines - 1
  local end_col = (#lines == 1 and col or 0) + #lines[#lines]
  vim.api.nvim_win_set_cursor(0, { end_row + 1, end_col })
  return end_row, end_col
end

--- Tell the server what was accepted: [id] for all, [id, characters] for a part.
local function report(buf, item, characters, whole)
  local client = util.client(buf)
  if client and item.id ~= nil then
    util.execute(client, "codellama.accept", whole and { item.id } or { item.id, characters }, buf)
  end
end

--- Insert all of the suggestion, or its next word or line; false if none is shown.
function M.accept(buf, kind)
  buf = buf or vim.api.nvim_get_current_buf()
  local rest, typed = remaining(buf)
  if not rest or rest == "" then
    return false
  end
  local s = shown[buf]
  local item = s.items[s.index]
  local part = part_of(rest, kind or "all")
  local whole = part == rest
  local delete = 0
  if whole and item.replace_bytes > 0 then
    local row, col = cursor()
    local replaced = line_at(buf, row):sub(col + 1, col + item.replace_bytes)
    delete = rest:sub(-#replaced) == replaced and #replaced or 0
  end
  local characters = s.accepted + vim.fn.strchars(typed .. part)
  M.clear(buf)
  local row, col = insert(buf, part, delete)
  M.counters.accepted = M.counters.accepted + 1
  report(buf, item, characters, whole)
  if not whole then
    -- The rest stays on screen, anchored at the new cursor.
    shown[buf] = { items = { { text = rest:sub(#part + 1), id = item.id,
      replace_bytes = item.replace_bytes } }, index = 1, row = row, col = col,
      prefix = line_at(buf, row):sub(1, col), accepted = characters }
    render(buf, shown[buf].items[1].text)
  end
  return true
end

--- Show the next (step 1) or previous (-1) item; with fewer than two, ask for several.
function M.cycle(buf, step)
  buf = buf or vim.api.nvim_get_current_buf()
  local s = shown[buf]
  if s and #s.items > 1 and remaining(buf) == s.items[s.index].text then
    s.index = (s.index - 1 + step) % #s.items + 1
    render(buf, s.items[s.index].text)
    return
  end
  local before = s and s.items[s.index].text
  M.request(buf, true, function(items)
    local index = 1
    if #items > 1 and items[1].text == before then
      index = step > 0 and 2 or #items
    end
    shown[buf].index = index
  end)
end

--- Ask now, as an invoked trigger: up to 3 different suggestions, "(i/n)" beside them.
function M.suggest(buf)
  buf = buf or vim.api.nvim_get_current_buf()
  M.clear(buf)
  M.request(buf, true)
end

--- The shown suggestion's remaining text (nil if none): for tests and the statusline.
function M.current(buf)
  buf = buf or vim.api.nvim_get_current_buf()
  return (remaining(buf))
end

--- The texts of the items of the shown suggestion (empty if none).
function M.items(buf)
  local s = shown[buf or vim.api.nvim_get_current_buf()]
  return s and vim.tbl_map(function(item) return item.text end, s.items) or {}
end

function M.busy()
  return next(pending) ~= nil
end

return M
