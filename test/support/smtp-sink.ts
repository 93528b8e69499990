/**
 * An in-process SMTP server on 127.0.0.1 that keeps every mail it receives, parsed, for
 * assertions. Plain SMTP (no STARTTLS), any credentials accepted and recorded, so a test can
 * check that Alertmanager read its password from the secret file.
 *
 * `stop()` and `resume()` take the server down and bring it back on the same port with the same
 * mail list, so a test can prove that a mail sent while the mail server was down still arrives.
 */
import { type ParsedMail, simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

export interface ReceivedMail {
  readonly envelopeFrom: string;
  readonly envelopeTo: readonly string[];
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /** Credentials the client authenticated with, when it did. */
  readonly auth?: { readonly username: string; readonly password: string };
  readonly parsed: ParsedMail;
  /** Date.now() when the sink had it: for benchmarks, never for test assertions. */
  readonly receivedAt: number;
}

export interface SmtpSink {
  readonly port: number;
  /** Every mail so far, oldest first (kept across stop/resume). */
  readonly mails: readonly ReceivedMail[];
  /** Stops listening: connections are refused until `resume`. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  resume(): Promise<void>;
  close(): Promise<void>;
}

interface SessionUser {
  readonly username: string;
  readonly password: string;
}

function newServer(mails: ReceivedMail[]): SMTPServer {
  return new SMTPServer({
    secure: false,
    disabledCommands: ["STARTTLS"],
    allowInsecureAuth: true,
    authOptional: true,
    logger: false,
    onAuth(auth, _session, callback) {
      const user: SessionUser = { username: auth.username ?? "", password: auth.password ?? "" };
      callback(null, { user });
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          const mailFrom = session.envelope.mailFrom;
          const user = session.user as unknown as SessionUser | undefined;
          mails.push({
            envelopeFrom: mailFrom === false ? "" : mailFrom.address,
            envelopeTo: session.envelope.rcptTo.map((recipient) => recipient.address),
            subject: parsed.subject ?? "",
            text: parsed.text ?? "",
            html: typeof parsed.html === "string" ? parsed.html : "",
            auth: user,
            parsed,
            receivedAt: Date.now(),
          });
          callback();
        })
        .catch((error: Error) => callback(error));
    },
  });
}

function listen(server: SMTPServer, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const address = server.server.address();
      if (address === null || typeof address !== "object") reject(new Error("SMTP sink has no port"));
      else resolve(address.port);
    });
  });
}

function closeServer(server: SMTPServer): Promise<void> {
  return new Promise<void>((done) => server.close(() => done()));
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const mails: ReceivedMail[] = [];
  let server: SMTPServer | undefined = newServer(mails);
  const port = await listen(server, 0);
  const stop = async () => {
    const running = server;
    server = undefined;
    if (running) await closeServer(running);
  };
  return {
    port,
    mails,
    stop,
    async resume() {
      if (server) return;
      const next = newServer(mails);
      await listen(next, port);
      server = next;
    },
    close: stop,
  };
}
