-- Which buffers the plugin never sends to the server (secret files and `exclude_files`), and
-- where suggestions are off (`vim.b.codellama_enabled = false`, `disabled_filetypes`). Globs as
-- the VS Code extension reads them (editors/vscode/src/globs.ts): a glob without `/` matches a
-- file's name (`*.pem`), one with `/` the end of its path (`.aws/credentials`).
local SECRET_FILES = require("codellama.secret_files")

local M = {}

local function matches(glob, path)
  local pattern = glob:find("/", 1, true) and ("**/" .. glob:gsub("^/+", "")) or glob
  local subject = glob:find("/", 1, true) and path or vim.fs.basename(path)
  local ok, lpeg = pcall(vim.glob.to_lpeg, pattern)
  return ok and lpeg:match(subject) ~= nil
end

--- The glob by which `path` is never sent to the server (secret files, then `extra`), or nil.
---@param path string
---@param extra string[]|nil
---@return string|nil
function M.excluded_by(path, extra)
  if path == "" then
    return nil -- a buffer without a name yet
  end
  path = vim.fs.normalize(path)
  for _, list in ipairs({ SECRET_FILES, extra or {} }) do
    for _, glob in ipairs(list) do
      if matches(glob, path) then
        return glob
      end
    end
  end
  return nil
end

--- Why suggestions are off in `buf` (one line), or nil where they are on.
---@param buf integer
---@param disabled_filetypes string[]
---@return string|nil
function M.off_reason(buf, disabled_filetypes)
  if vim.b[buf].codellama_enabled == false then
    return "vim.b.codellama_enabled is false in this buffer"
  end
  local filetype = vim.bo[buf].filetype
  if vim.tbl_contains(disabled_filetypes or {}, filetype) then
    return "suggestions are off for " .. filetype .. " (disabled_filetypes)"
  end
  return nil
end

return M
