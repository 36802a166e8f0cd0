-- The ghost text: one extmark per buffer, the first line inline at the cursor, the further
-- lines as virtual lines below it (as copilot.lua and llama.vim draw it).
local M = {}

M.ns = vim.api.nvim_create_namespace("codellama.ghost")
M.HL = "CodeLlamaSuggestion"
M.COUNTER_HL = "CodeLlamaCounter" -- the "(i/n)" beside several suggestions
local marks = {} -- buffer -> extmark id
local inline = vim.fn.has("nvim-0.10") == 1

local function visible_tabs(text)
  return (text:gsub("\t", string.rep(" ", vim.bo.tabstop)))
end

--- Show `text` at (row, col) (0-based, byte column), and `counter` (e.g. " (1/3)") after its
--- first line; an existing mark is edited in place, so that trimming a suggestion while the
--- user types it never flickers.
function M.show(buf, row, col, text, counter)
  local lines = vim.split(text, "\n", { plain = true })
  local first = { { visible_tabs(lines[1]), M.HL } }
  if counter then
    table.insert(first, { counter, M.COUNTER_HL })
  end
  local opts = {
    id = marks[buf],
    virt_text = first,
    virt_text_pos = inline and "inline" or "overlay",
    hl_mode = "combine",
    priority = 200,
  }
  if #lines > 1 then
    opts.virt_lines = {}
    for i = 2, #lines do
      table.insert(opts.virt_lines, { { visible_tabs(lines[i]), M.HL } })
    end
  end
  marks[buf] = vim.api.nvim_buf_set_extmark(buf, M.ns, row, col, opts)
end

function M.clear(buf)
  if marks[buf] and vim.api.nvim_buf_is_valid(buf) then
    vim.api.nvim_buf_del_extmark(buf, M.ns, marks[buf])
  end
  marks[buf] = nil
end

function M.shown(buf)
  return marks[buf] ~= nil
end

--- The highlight: a group to link to, or attributes for nvim_set_hl.
function M.set_highlight(spec)
  vim.api.nvim_set_hl(0, M.COUNTER_HL, { link = "NonText", default = true })
  if type(spec) == "table" then
    vim.api.nvim_set_hl(0, M.HL, spec)
  else
    vim.api.nvim_set_hl(0, M.HL, { link = spec or "Comment", default = true })
  end
end

return M
