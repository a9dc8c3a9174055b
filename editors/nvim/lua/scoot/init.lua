-- Scoot for Neovim: starts the Scoot language server (`scoot lsp`) for `.sct` buffers.
--
--   require("scoot").setup()                                  -- `scoot lsp` from the PATH
--   require("scoot").setup({ cmd = { "/path/to/venv/bin/scoot", "lsp" } })
--
-- Neovim 0.8 and later use vim.lsp.start (which reuses a client per root folder);
-- 0.7 uses vim.lsp.start_client and vim.lsp.buf_attach_client, reusing clients itself.
local M = {}

M.defaults = {
  cmd = { "scoot", "lsp" },
  -- The root folder: the nearest folder holding one of these, else the file's folder.
  root_markers = { "scoot.toml", ".git" },
  filetypes = { "scoot" },
  settings = {},
  init_options = nil,
  on_attach = nil,
  capabilities = nil,
  autostart = true,
}

M.config = vim.deepcopy(M.defaults)

-- Clients started on Neovim 0.7, by root folder.
local clients = {}

local function dirname(path)
  return vim.fn.fnamemodify(path, ":h")
end

--- The root folder of a file: the nearest ancestor holding a root marker, else its folder.
function M.root_dir(path)
  local dir = dirname(path)
  local current = dir
  while true do
    for _, marker in ipairs(M.config.root_markers) do
      if vim.loop.fs_stat(current .. "/" .. marker) then
        return current
      end
    end
    local parent = dirname(current)
    if parent == current then
      return dir
    end
    current = parent
  end
end

local function client_config(root)
  return {
    name = "scoot",
    cmd = M.config.cmd,
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = root } },
    settings = M.config.settings,
    init_options = M.config.init_options,
    on_attach = M.config.on_attach,
    capabilities = M.config.capabilities or vim.lsp.protocol.make_client_capabilities(),
  }
end

--- Start (or reuse) the server for a buffer and attach it. Returns the client id.
function M.start(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local path = vim.api.nvim_buf_get_name(bufnr)
  local root = path ~= "" and M.root_dir(path) or vim.loop.cwd()
  if vim.lsp.start then
    return vim.lsp.start(client_config(root), { bufnr = bufnr })
  end
  local id = clients[root]
  local client = id and vim.lsp.get_client_by_id(id)
  if not client or client.is_stopped() then
    id = vim.lsp.start_client(client_config(root))
    if not id then
      vim.notify("scoot: could not start " .. table.concat(M.config.cmd, " "), vim.log.levels.ERROR)
      return nil
    end
    clients[root] = id
  end
  vim.lsp.buf_attach_client(bufnr, id)
  return id
end

--- Configure, and start the server for every `scoot` buffer (those already open too).
function M.setup(opts)
  M.config = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts or {})
  local group = vim.api.nvim_create_augroup("scoot_lsp", { clear = true })
  if not M.config.autostart then
    return
  end
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = M.config.filetypes,
    callback = function(args)
      M.start(args.buf)
    end,
    desc = "Start the Scoot language server",
  })
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.tbl_contains(M.config.filetypes, vim.bo[bufnr].filetype) then
      M.start(bufnr)
    end
  end
end

return M
