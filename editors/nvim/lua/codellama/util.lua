-- Small helpers that hide the differences between Neovim 0.10, 0.11 and 0.12.
local M = {}

M.NAME = "codellama"
local has_011 = vim.fn.has("nvim-0.11") == 1

--- The codellama client attached to `buf` (any buffer when nil).
---@return table|nil
function M.client(buf)
  local get = vim.lsp.get_clients or vim.lsp.get_active_clients
  return get({ name = M.NAME, bufnr = buf })[1]
end

function M.request(client, method, params, handler, buf)
  if has_011 then
    return client:request(method, params, handler, buf)
  end
  return client.request(method, params, handler, buf)
end

function M.request_sync(client, method, params, timeout_ms, buf)
  if has_011 then
    return client:request_sync(method, params, timeout_ms, buf)
  end
  return client.request_sync(method, params, timeout_ms, buf)
end

function M.notify(client, method, params)
  if has_011 then
    return client:notify(method, params)
  end
  return client.notify(method, params)
end

function M.cancel(client, id)
  if has_011 then
    return client:cancel_request(id)
  end
  return client.cancel_request(id)
end

--- Run a server command; the answer is not waited for.
function M.execute(client, command, arguments, buf)
  M.request(client, "workspace/executeCommand", { command = command, arguments = arguments },
    function() end, buf)
end

--- The byte column of an LSP `character` on `line` in the client's position encoding.
function M.byte_col(line, character, encoding)
  if encoding == "utf-8" then
    return math.min(character, #line)
  end
  local ok, col
  if has_011 then
    ok, col = pcall(vim.str_byteindex, line, encoding, character, false)
  else
    ok, col = pcall(vim.str_byteindex, line, character, encoding == "utf-16")
  end
  return ok and col or #line
end

--- The LSP `character` of a byte column on `line` in the client's position encoding.
function M.character(line, byte_col, encoding)
  if encoding == "utf-8" then
    return byte_col
  end
  if has_011 then
    return vim.str_utfindex(line, encoding, byte_col, false)
  end
  local utf32, utf16 = vim.str_utfindex(line, byte_col)
  return encoding == "utf-16" and utf16 or utf32
end

function M.in_insert_mode()
  return vim.api.nvim_get_mode().mode:sub(1, 1) == "i"
end

return M
