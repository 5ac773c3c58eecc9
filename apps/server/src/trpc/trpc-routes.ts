import {
  type AnyProcedure,
  type AnyRouter,
  getErrorShape,
  getTRPCErrorFromUnknown,
  type TRPCError,
  transformTRPCResponse,
} from '@trpc/server';
import {
  type FastifyTRPCPluginOptions,
  fastifyRequestHandler,
} from '@trpc/server/adapters/fastify';
import { getHTTPStatusCode } from '@trpc/server/http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface TrpcRoutesOptions<TContext> {
  /** Path prefix of the routes, for example `/trpc`. */
  prefix: string;
  router: AnyRouter;
  /**
   * Query procedures served without @trpc/server's HTTP adapter when called alone by GET.
   * Only list procedures whose output is plain JSON: a direct call never streams.
   */
  directQueries: readonly string[];
  /** Builds the context of one request. A thrown TRPCError fails the call. */
  createContext(request: FastifyRequest): TContext;
  /** Headers for the response, given the errors of its calls (empty on success). */
  responseHeaders(errors: readonly TRPCError[]): Record<string, string>;
  onError(error: TRPCError, request: FastifyRequest): void;
}

/** A GET call of one listed query procedure, with its input already parsed. */
interface DirectCall {
  path: string;
  procedure: AnyProcedure;
  input: unknown;
}

/**
 * Serves a tRPC router at `prefix/:path`. A GET of one listed query procedure, the request
 * tRPC's `httpLink` sends, runs the procedure directly and writes tRPC's JSON response with
 * the same status, headers and body that @trpc/server's Fastify adapter produces. Every
 * other request (batches, POST, streaming, other procedures) goes to that adapter. The
 * direct path skips the Fetch API `Request`, `Response` and stream that tRPC 11 builds for
 * every request, which cost more CPU than the refresh itself.
 */
export async function registerTrpcRoutes<TContext>(
  app: FastifyInstance,
  options: TrpcRoutesOptions<TContext>,
): Promise<void> {
  const adapterOptions = {
    router: options.router,
    createContext: ({ req }: { req: FastifyRequest }) => options.createContext(req),
    responseMeta: ({ errors }: { errors: readonly TRPCError[] }) => ({
      headers: options.responseHeaders(errors),
    }),
    onError: ({ error, req }: { error: TRPCError; req: FastifyRequest }) =>
      options.onError(error, req),
  } satisfies FastifyTRPCPluginOptions<AnyRouter>['trpcOptions'];

  await app.register(
    async (scope) => {
      // As in @trpc/server's Fastify plugin: tRPC reads JSON and form bodies itself.
      scope.removeContentTypeParser('application/json');
      scope.addContentTypeParser(
        'application/json',
        { parseAs: 'string' },
        (_request, body, done) => done(null, body),
      );
      scope.removeContentTypeParser('multipart/form-data');
      scope.addContentTypeParser('multipart/form-data', {}, (_request, body, done) =>
        done(null, body),
      );

      scope.all('/:path', async (request, reply) => {
        const path = (request.params as { path: string }).path;
        const call = directCall(request, path, options);
        if (call !== undefined) return serveDirectCall(request, reply, call, options);

        await fastifyRequestHandler({ ...adapterOptions, req: request, res: reply, path });
        return reply;
      });
    },
    { prefix: options.prefix },
  );
}

/**
 * Returns the call when the direct path can respond to the request exactly as tRPC would.
 * That holds for a GET of a listed query whose only query parameter is one `input` of valid
 * JSON, with no streaming `Accept` and no body content type that tRPC would parse differently.
 */
function directCall<TContext>(
  request: FastifyRequest,
  path: string,
  options: TrpcRoutesOptions<TContext>,
): DirectCall | undefined {
  if (request.method !== 'GET' || !options.directQueries.includes(path)) return undefined;

  const procedure = (options.router._def.procedures as Record<string, AnyProcedure | undefined>)[
    path
  ];
  if (procedure?._def.type !== 'query') return undefined;

  const headers = request.headers;
  if (headers['trpc-accept'] !== undefined) return undefined;
  if (headers.accept?.includes('application/jsonl')) return undefined;
  const contentType = headers['content-type'];
  if (contentType !== undefined && !contentType.startsWith('application/json')) return undefined;

  const queryStart = request.url.indexOf('?');
  if (queryStart === -1) return { path, procedure, input: undefined };

  let rawInput: string | undefined;
  for (const [name, value] of new URLSearchParams(request.url.slice(queryStart + 1))) {
    if (name !== 'input' || rawInput !== undefined) return undefined;
    rawInput = value;
  }
  // tRPC treats an empty `input` as no input.
  if (rawInput === undefined || rawInput === '') return { path, procedure, input: undefined };
  try {
    return { path, procedure, input: JSON.parse(rawInput) };
  } catch {
    // tRPC's own response to invalid JSON is left to the adapter.
    return undefined;
  }
}

async function serveDirectCall<TContext>(
  request: FastifyRequest,
  reply: FastifyReply,
  call: DirectCall,
  options: TrpcRoutesOptions<TContext>,
): Promise<FastifyReply> {
  const config = options.router._def._config;
  let context: TContext | undefined;
  let inputRead = false;
  let data: unknown;
  let error: TRPCError | undefined;

  try {
    context = options.createContext(request);
    data = await call.procedure({
      path: call.path,
      getRawInput: async () => {
        inputRead = true;
        return call.input;
      },
      ctx: context,
      type: 'query',
      signal: undefined,
      batchIndex: 0,
    });
  } catch (cause) {
    error = getTRPCErrorFromUnknown(cause);
    options.onError(error, request);
  }

  const body =
    error === undefined
      ? { result: { data } }
      : {
          error: getErrorShape({
            config,
            error,
            type: 'query',
            path: call.path,
            input: inputRead ? call.input : undefined,
            ctx: context,
          }),
        };
  const errors = error === undefined ? [] : [error];

  reply
    .code(getHTTPStatusCode(body, errors))
    .header('vary', 'trpc-accept, accept')
    .header('content-type', 'application/json');
  for (const [name, value] of Object.entries(options.responseHeaders(errors))) {
    reply.header(name, value);
  }
  // The body is JSON text already. Fastify appends a charset to the content type of a string
  // it serializes itself, but leaves a string to a reply serializer, here one that keeps it.
  return reply.serializer(keepText).send(JSON.stringify(transformTRPCResponse(config, body)));
}

function keepText(text: unknown): string {
  return String(text);
}
