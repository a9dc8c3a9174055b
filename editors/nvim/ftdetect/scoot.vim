" Scoot architecture files.
autocmd BufRead,BufNewFile *.sct setfiletype scoot
