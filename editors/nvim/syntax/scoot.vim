" Vim syntax file
" Language: Scoot architecture language (architecture.sct)

if exists("b:current_syntax")
  finish
endif
let s:cpo_save = &cpo
set cpo&vim

syn case match
syn iskeyword @,48-57,_,192-255,-

" Operators, first: a comment, a number or a name that starts at the same place wins.
" A `-` right after a name's character is part of the name (`web-api`, `a-1`).
syn match   scootOperator "==\|!=\|<=\|>=\|&&\|||\|[<>!?:+*/%]"
syn match   scootOperator "\%([[:alnum:]_-]\)\@<!-"

" Comments: // line, # line, /* block */
syn keyword scootTodo contained TODO FIXME XXX NOTE
syn match   scootComment "//.*$" contains=scootTodo,@Spell
syn match   scootComment "#.*$" contains=scootTodo,@Spell
syn region  scootComment start="/\*" end="\*/" contains=scootTodo,@Spell

" Declarations
syn keyword scootKeyword application component module nextgroup=scootBlockName skipwhite skipempty
syn match   scootBlockName "\h[[:alnum:]_-]*" contained
syn keyword scootKeyword param nextgroup=scootParamName skipwhite skipempty
syn match   scootParamName "\h[[:alnum:]_-]*" contained nextgroup=scootTypeSep skipwhite skipempty
syn match   scootTypeSep ":" contained nextgroup=scootType,scootBadType skipwhite skipempty
syn keyword scootType string number bool list map any contained
syn match   scootBadType "\h[[:alnum:]_-]*" contained
syn keyword scootKeyword let output nextgroup=scootLetName skipwhite skipempty
syn match   scootLetName "\h[[:alnum:]_-]*" contained
" moved { from = ADDRESS, to = ADDRESS }: the addresses are names, not references
syn keyword scootKeyword moved nextgroup=scootMovedBody skipwhite skipempty
" for X in LIST, if CONDITION: a block's repetition and condition
syn keyword scootKeyword for in if
syn region  scootMovedBody matchgroup=scootDelimiter start="{" end="}" contained contains=scootComment,scootMovedKey,scootAddress
syn match   scootMovedKey "\<\%(from\|to\)\ze\s*=" contained
syn match   scootAddress "\%(=\s*\)\@<=\h[[:alnum:]_-]*\%(\.\h[[:alnum:]_-]*\)\=" contained

" KIND NAME { ... }: an object
syn match   scootKind "\%([[:alnum:]_-]\)\@<!\h[[:alnum:]_-]*\ze\s\+\h[[:alnum:]_-]*\s*\%({\|\<for\>\|\<if\>\)" nextgroup=scootObjectName skipwhite
syn match   scootObjectName "\h[[:alnum:]_-]*" contained

" Attribute and map keys: NAME = / "quoted" =
syn match   scootKey "\%([[:alnum:]_.-]\)\@<!\h[[:alnum:]_-]*\ze\s*="
syn match   scootKey +"\%([^"\\$]\|\\.\)*"\ze\s*=+

" Values
syn keyword scootBoolean true false
syn keyword scootNull null
syn match   scootNumber "\%([[:alnum:]_.-]\)\@<!-\=\%(0\|[1-9]\d*\)\%(\.\d\+\)\=\%([eE][+-]\=\d\+\)\=\%([[:alnum:]_.]\)\@!"
syn match   scootReference "\%([[:alnum:]_-]\)\@<!\h[[:alnum:]_-]*\%(\.\h[[:alnum:]_-]*\)\+"
syn match   scootFunction "\%([[:alnum:]_-]\)\@<!\h[[:alnum:]_-]*\ze\s*("
syn match   scootBuiltin "\%([[:alnum:]_-]\)\@<!\%(secret\|file\|join\|split\|lower\|upper\|length\|range\|merge\|keys\|values\|contains\|format\)\ze\s*("

" Strings: escapes, $${ (a literal ${), ${ expr } interpolation
syn match   scootEscape "\\\%([ntr\"\\$]\|u\x\{4}\|U\x\{8}\)" contained
syn match   scootBadEscape "\\\%([ntr\"\\$]\|u\x\{4}\|U\x\{8}\)\@!." contained
syn match   scootEscape "\$\${" contained
syn cluster scootExpr contains=scootOperator,scootString,scootNumber,scootBoolean,scootNull,scootReference,scootFunction,scootBuiltin
syn region  scootInterpolation matchgroup=scootInterpolationDelimiter start="\${" end="}" contained contains=@scootExpr
syn region  scootString start=+"+ skip=+\\.+ end=+"\|$+ contains=scootEscape,scootBadEscape,scootInterpolation,@Spell
syn region  scootString start=+"""+ end=+"""\("\)\@!+ contains=scootEscape,scootBadEscape,scootInterpolation,@Spell

hi def link scootTodo                   Todo
hi def link scootComment                Comment
hi def link scootKeyword                Keyword
hi def link scootOperator               Operator
hi def link scootBlockName              Structure
hi def link scootParamName              Identifier
hi def link scootLetName                Identifier
hi def link scootTypeSep                Delimiter
hi def link scootType                   Type
hi def link scootBadType                Error
hi def link scootKind                   Type
hi def link scootObjectName             Function
hi def link scootKey                    Identifier
hi def link scootMovedKey               Statement
hi def link scootAddress                Structure
hi def link scootDelimiter              Delimiter
hi def link scootBoolean                Boolean
hi def link scootNull                   Constant
hi def link scootNumber                 Number
hi def link scootReference              Identifier
hi def link scootFunction               Function
hi def link scootBuiltin                Function
hi def link scootString                 String
hi def link scootEscape                 SpecialChar
hi def link scootBadEscape              Error
hi def link scootInterpolationDelimiter Delimiter

let b:current_syntax = "scoot"

let &cpo = s:cpo_save
unlet s:cpo_save
