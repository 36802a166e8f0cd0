-- What the statusline shows: off, loading (with $/progress), ready, thinking, error.
local M = {}

M.state = "off"
M.detail = nil -- the last error or progress message
local busy = function() return false end
local request_failed = false -- the error is a failed request, not the model

function M.set(state, detail)
  M.state, M.detail = state, detail
  request_failed = false
  M.refresh()
end

--- Redraw the statusline (a request started or ended: "thinking" comes and goes).
function M.refresh()
  pcall(vim.cmd.redrawstatus)
end

--- A suggestion request failed (the server answered an error).
function M.request_failed(message)
  M.set("error", message)
  request_failed = true
end

--- A suggestion request succeeded: an error that came from a request is over.
function M.request_succeeded()
  if M.state == "error" and request_failed then
    M.set("ready")
  end
  M.refresh()
end

--- `probe` tells whether a request is in flight (the suggestion layer's).
function M.set_busy_probe(probe)
  busy = probe
end

--- The state of the model as `codellama/stats` reports it.
function M.from_model(model)
  if not model then
    return
  end
  if model.state == "ready" then
    M.set("ready")
  elseif model.state == "failed" then
    M.set("error", model.error or "the model did not load")
  else
    M.set("loading", model.name)
  end
end

--- `$/progress` from the server: the model loading.
function M.on_progress(value)
  if type(value) ~= "table" then
    return
  end
  if value.kind == "begin" or value.kind == "report" then
    M.set("loading", value.message or value.title)
  elseif value.kind == "end" then
    local failed = value.message and value.message:find("^cannot load")
    M.set(failed and "error" or "ready", value.message)
  end
end

--- For 'statusline': `%{v:lua.require'codellama'.statusline()}`.
function M.statusline()
  local state = M.state
  if state == "ready" and busy() then
    state = "thinking"
  end
  if state == "off" then
    return ""
  end
  return "CodeLlama: " .. state
end

return M
