// One HTTP POST under a deadline, for the webhook and the ping URL. The URL is never in an error or a
// log line: it may carry a secret token (the callers name the destination by its redacted form).
import { DeliveryError } from './delivery-queue.js';

export interface PostRequest {
  url: string;
  body: string;
  contentType: string;
  userAgent: string;
  timeoutMs: number;
  /** Aborted when the queue closes. */
  signal: AbortSignal;
}

/** 408, 429 and 5xx are worth another try; any other answer would be the same the next time. */
const RETRYABLE_STATUS = (status: number) => status === 408 || status === 429 || status >= 500;

export async function postWithDeadline(request: PostRequest): Promise<void> {
  const deadline = AbortSignal.timeout(request.timeoutMs);
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: 'POST',
      headers: { 'content-type': request.contentType, 'user-agent': request.userAgent },
      body: request.body,
      signal: AbortSignal.any([deadline, request.signal]),
      // A redirect would take the body (and the token in the URL's path) elsewhere: refused, not followed.
      redirect: 'manual',
    });
  } catch (err) {
    if (deadline.aborted) throw new DeliveryError(`no answer within ${request.timeoutMs / 1000} s`, true);
    if (request.signal.aborted) throw new DeliveryError('cut short: the scheduler is stopping', false);
    throw new DeliveryError(`could not connect: ${connectProblem(err)}`, true);
  }
  // Only the status matters: the body is not read, so whatever the receiver sends costs no memory.
  await response.body?.cancel().catch(() => undefined);
  if (response.status >= 200 && response.status < 300) return;
  if (response.status >= 300 && response.status < 400) throw new DeliveryError(`answered ${response.status}, a redirect, which is not followed: give the URL it points to`, false);
  throw new DeliveryError(`answered ${response.status}`, RETRYABLE_STATUS(response.status));
}

/**
 * fetch's own words are `fetch failed`; the cause has the system's code (ECONNREFUSED, ENOTFOUND, ...) or
 * undici's own short words (`other side closed`), neither of which repeats the URL.
 */
function connectProblem(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code?.startsWith('UND_ERR') && cause.message) return cause.message;
  return cause?.code ?? (err as Error).name ?? 'unknown error';
}
