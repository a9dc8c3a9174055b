// The Scoot extension's client: starts the configured language server (`scoot lsp` by
// default) over stdio and keeps it running.
import * as vscode from "vscode";
import {
  CloseAction,
  CloseHandlerResult,
  ErrorAction,
  ErrorHandler,
  ErrorHandlerResult,
  LanguageClient,
  LanguageClientOptions,
  Message,
  RevealOutputChannelOn,
  ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";

import { RestartBudget } from "./restarts";

/** How many unexpected exits within `RESTART_WINDOW_MS` are restarted before giving up. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 3 * 60 * 1000;

let client: LanguageClient | undefined;
let output: vscode.OutputChannel | undefined;

export interface ServerSettings {
  command: string;
  args: string[];
  env: Record<string, string>;
}

/** The server command from the `scoot.server.*` settings. */
export function serverSettings(): ServerSettings {
  const config = vscode.workspace.getConfiguration("scoot");
  const command = config.get<string>("server.command", "scoot").trim() || "scoot";
  const args = config.get<string[]>("server.args", ["lsp"]);
  const env = config.get<Record<string, string>>("server.env", {});
  return { command, args: Array.isArray(args) ? args.map(String) : ["lsp"], env: env ?? {} };
}

/**
 * Restarts the server when its connection closes, as the library does, but says so in the
 * output channel and stops (with a message that names the command) after repeated crashes.
 */
export class RestartingErrorHandler implements ErrorHandler {
  private readonly budget = new RestartBudget(MAX_RESTARTS, RESTART_WINDOW_MS);

  constructor(
    private readonly describe: () => string,
    private readonly log: (line: string) => void,
  ) {}

  error(error: Error, _message: Message | undefined, count: number | undefined): ErrorHandlerResult {
    this.log(`Scoot language server: connection error (${count ?? 1}): ${error.message}`);
    // A few broken messages in a row mean a broken connection: close it, so `closed` restarts.
    if (count !== undefined && count > 3) {
      return { action: ErrorAction.Shutdown };
    }
    return { action: ErrorAction.Continue };
  }

  closed(): CloseHandlerResult {
    const { restart, count } = this.budget.exited();
    if (!restart) {
      const message =
        `The Scoot language server (${this.describe()}) stopped ${count} times in ` +
        `${RESTART_WINDOW_MS / 60000} minutes; it will not be restarted. Check the 'Scoot' output, ` +
        `fix scoot.server.command, then run 'Scoot: Restart the language server'.`;
      return { action: CloseAction.DoNotRestart, message };
    }
    this.log(`Scoot language server stopped; restarting (${count}/${MAX_RESTARTS}).`);
    return { action: CloseAction.Restart, handled: true };
  }

  reset(): void {
    this.budget.reset();
  }
}

function createClient(context: vscode.ExtensionContext, channel: vscode.OutputChannel): LanguageClient {
  const settings = serverSettings();
  const serverOptions: ServerOptions = {
    command: settings.command,
    args: settings.args,
    transport: TransportKind.stdio,
    options: { env: { ...process.env, ...settings.env } },
  };
  const describe = (): string => [settings.command, ...settings.args].join(" ");
  const errorHandler = new RestartingErrorHandler(describe, (line) => channel.appendLine(line));
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "scoot" },
      { scheme: "untitled", language: "scoot" },
    ],
    synchronize: {
      // The server compiles a folder of .sct files as one unit and reads scoot.toml / scoot.lock.
      fileEvents: vscode.workspace.createFileSystemWatcher("**/{*.sct,scoot.toml,scoot.lock}"),
    },
    outputChannel: channel,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    errorHandler,
  };
  const created = new LanguageClient("scoot", "Scoot", serverOptions, clientOptions);
  context.subscriptions.push({ dispose: () => errorHandler.reset() });
  return created;
}

async function start(context: vscode.ExtensionContext): Promise<void> {
  output ??= vscode.window.createOutputChannel("Scoot");
  client = createClient(context, output);
  try {
    await client.start();
  } catch (error) {
    const settings = serverSettings();
    const text = error instanceof Error ? error.message : String(error);
    void vscode.window.showErrorMessage(
      `Could not start the Scoot language server '${[settings.command, ...settings.args].join(" ")}': ` +
        `${text}. Install Scoot (pip install scoot) or set scoot.server.command.`,
    );
  }
}

async function stop(): Promise<void> {
  const running = client;
  client = undefined;
  if (running !== undefined) {
    try {
      await running.stop();
    } catch {
      // Already stopped (it may have died): nothing to do.
    }
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  context.subscriptions.push(
    vscode.commands.registerCommand("scoot.restartServer", async () => {
      await stop();
      await start(context);
    }),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration("scoot.server")) {
        await stop();
        await start(context);
      }
    }),
    { dispose: () => void stop() },
  );
  await start(context);
}

export async function deactivate(): Promise<void> {
  await stop();
}
