-- Driven by test_nvim.py: `nvim --headless -u NONE` with editors/nvim on the runtimepath.
-- Reads its instructions from the JSON file named by $SCOOT_NVIM_TEST and writes what it saw
-- to the `output` file named there; the Python side makes the assertions.
local spec = vim.fn.json_decode(table.concat(vim.fn.readfile(vim.env.SCOOT_NVIM_TEST), "\n"))
local out = { steps = {} }

local function save()
  vim.fn.writefile({ vim.fn.json_encode(out) }, spec.output)
end

local function step(name)
  table.insert(out.steps, name)
  save()
end

local function code_of(d)
  if d.code ~= nil then
    return d.code
  end
  local lsp = d.user_data and d.user_data.lsp
  return lsp and lsp.code or vim.NIL
end

local function scoot_clients()
  local found = {}
  for _, client in pairs(vim.lsp.get_active_clients()) do
    if client.name == "scoot" then
      table.insert(found, client)
    end
  end
  return found
end

local ok, err = pcall(function()
  require("scoot").setup({ cmd = spec.cmd, init_options = { debounce = 0.0 } })
  vim.cmd("edit " .. vim.fn.fnameescape(spec.file))
  local buf = vim.api.nvim_get_current_buf()
  out.filetype = vim.bo.filetype
  out.commentstring = vim.bo.commentstring
  out.current_syntax = vim.b.current_syntax or vim.NIL
  out.syntax = {}
  for _, probe in ipairs(spec.probes) do
    local id = vim.fn.synID(probe[1], probe[2], 1)
    table.insert(out.syntax, vim.fn.synIDattr(id, "name"))
  end
  step("opened")

  -- The server's diagnostics arrive by notification.
  local arrived = vim.wait(spec.timeout_ms, function()
    return #vim.diagnostic.get(buf) > 0
  end, 20)
  out.diagnostics = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    table.insert(out.diagnostics, { lnum = d.lnum, col = d.col, message = d.message, code = code_of(d) })
  end
  out.diagnostics_arrived = arrived
  step("diagnostics")

  -- Completion, through the client.
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    position = { line = spec.completion[1], character = spec.completion[2] },
  }
  local responses = vim.lsp.buf_request_sync(buf, "textDocument/completion", params, spec.timeout_ms)
  out.completion = {}
  for _, response in pairs(responses or {}) do
    if response.error then
      out.completion_error = response.error.message
    end
    local result = response.result or {}
    for _, item in ipairs(result.items or result) do
      table.insert(out.completion, item.label)
    end
  end
  step("completion")

  -- Formatting, as the user's formatting command does it.
  if vim.lsp.buf.format then
    vim.lsp.buf.format({ bufnr = buf, timeout_ms = spec.timeout_ms })
  else
    vim.lsp.buf.formatting_sync(nil, spec.timeout_ms)
  end
  out.formatted = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  step("formatted")

  -- A second file of the same folder is served by the same client.
  vim.cmd("edit " .. vim.fn.fnameescape(spec.second_file))
  vim.wait(spec.timeout_ms, function()
    return #vim.lsp.buf_get_clients(0) > 0
  end, 20)
  out.second_attached = #vim.lsp.buf_get_clients(0)
  out.scoot_clients = #scoot_clients()
  step("second file")
end)

if not ok then
  out.error = tostring(err)
end
save()
for _, client in ipairs(scoot_clients()) do
  client.stop()
end
vim.cmd("qa!")
