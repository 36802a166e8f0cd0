-- Copilot's Neovim client (copilot-lsp's nes module, unchanged) against codellama-lsp: a rename
-- at one occurrence, `request_nes`, then `apply_pending_nes`. Run by test_copilot_lsp.py, which
-- reads what it prints.
local copilot_dir, python, root, model, workdir = unpack(vim.json.decode(os.getenv("COPILOT_LSP_CHECK")))

local function check()
  vim.opt.rtp:prepend(copilot_dir)
  local source = {
    "def total(items):", "    count = 0", "    for item in items:", "        count += item.count",
    "    print(count)", "    return count", "", "count = 3" }
  local path = workdir .. "/first.py"
  vim.fn.writefile(source, path)
  vim.cmd.edit(path)
  local bufnr = vim.api.nvim_get_current_buf()
  local client_id = vim.lsp.start({
    name = "codellama", cmd = { python, "-m", "codellama_lsp", "lsp" },
    cmd_env = { PYTHONPATH = root, HF_HUB_OFFLINE = "1" }, root_dir = workdir,
    init_options = { model = model, nextEdits = "rules", nextEditDelayMs = 40 },
  })
  assert(vim.wait(60000, function() return vim.lsp.get_client_by_id(client_id).initialized end), "initialized")
  -- rename the first `count` (line 2) to `n`, as a user would
  vim.api.nvim_buf_set_text(bufnr, 1, 4, 1, 9, { "n" })
  vim.wait(100)
  vim.api.nvim_win_set_cursor(0, { 2, 4 })
  require("copilot-lsp.nes").request_nes("codellama")
  local shown = vim.wait(15000, function() return vim.b[bufnr].nes_state ~= nil end, 20)
  print("shown: " .. tostring(shown))
  if shown then
    require("copilot-lsp.nes").apply_pending_nes(bufnr)
    vim.wait(200)
  end
  print("lines: " .. vim.json.encode(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)))
  local stats = vim.lsp.get_client_by_id(client_id):request_sync("codellama/stats", {}, 5000, bufnr)
  print("stats: " .. vim.json.encode(stats.result.next_edits))
  vim.lsp.stop_client(client_id)
  vim.wait(500)
end

local ok, err = pcall(check)
if not ok then
  print("error: " .. tostring(err))
end
vim.cmd("qa!")
