package irbis.serving

import java.io.{ByteArrayOutputStream, IOException}
import java.net.InetSocketAddress
import java.nio.charset.StandardCharsets.UTF_8
import java.security.MessageDigest
import java.util.concurrent.TimeUnit.MILLISECONDS
import java.util.concurrent.atomic.AtomicInteger

import scala.jdk.CollectionConverters._

import io.netty.bootstrap.ServerBootstrap
import io.netty.buffer.{ByteBuf, Unpooled}
import io.netty.channel.{
  Channel,
  ChannelFuture,
  ChannelHandlerContext,
  ChannelInboundHandlerAdapter,
  ChannelInitializer,
  ChannelOption,
  MultiThreadIoEventLoopGroup
}
import io.netty.channel.group.DefaultChannelGroup
import io.netty.channel.epoll.{Epoll, EpollIoHandler, EpollServerSocketChannel}
import io.netty.channel.nio.NioIoHandler
import io.netty.channel.socket.SocketChannel
import io.netty.channel.socket.nio.NioServerSocketChannel
import io.netty.handler.codec.TooLongFrameException
import io.netty.handler.codec.http._
import io.netty.util.ReferenceCountUtil
import io.netty.util.concurrent.{DefaultThreadFactory, GlobalEventExecutor, ScheduledFuture}

/**
 * The HTTP side of every server (driver, partition or front): Netty's non-blocking HTTP/1.1 codec on a small event
 * loop, so a connection costs no thread while it waits and a slow or idle client holds nothing the others need.
 * It enforces the limits of [[ServingConfig]] itself and answers what breaks them, each once, counted in
 * `counters`: 408 (a request not read whole within `readTimeoutMs`), 413 (a body over `maxBodyBytes`, by
 * Content-Length or while reading), 431 (headers over `maxHeaderBytes`), 414, 400 (a malformed request, or one the
 * client abandoned half-sent), 404 (another path), 405 (another method, with `Allow`), 505 (an HTTP version other
 * than 1.0 and 1.1), 401 (the bearer token is missing or wrong) and 503 (beyond `maxConnections`). Every refusal
 * closes its connection, after the answer, once the client has stopped sending (or `readTimeoutMs` later), so the
 * client reads the answer instead of a reset. Idle kept-alive connections are closed after `idleTimeoutMs`.
 * What passes is handed whole to `server`: the requests to the service (`POST /<name>`, answered through their
 * [[Exchange]]), `GET /<name>/_status` and the driver's and partitions' `POST /<name>/_control` messages (which carry
 * `controlToken` instead of the bearer token).
 */
private[serving] final class HttpTransport(config: ServingConfig, counters: ServingCounters, server: ServingServer,
                                           controlToken: String) {
  private val base = "/" + config.name
  // Linux's epoll through Netty's native transport where it loads (Spark ships it), else Java's NIO
  private val epoll = Epoll.isAvailable
  private val group = new MultiThreadIoEventLoopGroup(config.handlerThreads,
    new DefaultThreadFactory(s"irbis-serving-${config.name}", true),
    if (epoll) EpollIoHandler.newFactory() else NioIoHandler.newFactory())
  private val connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE)
  private val open = new AtomicInteger(0)
  private val bearer = config.token.map(digest)
  private val control = digest(controlToken)

  private val channel: Channel = new ServerBootstrap().group(group)
    .channel(if (epoll) classOf[EpollServerSocketChannel] else classOf[NioServerSocketChannel])
    .childOption(ChannelOption.TCP_NODELAY, java.lang.Boolean.TRUE)
    .childHandler(new ChannelInitializer[SocketChannel] {
      override def initChannel(ch: SocketChannel): Unit = {
        val connection = new Connection
        ch.pipeline().addLast(new ChannelInboundHandlerAdapter { // sees the first byte of each request
            override def channelRead(ctx: ChannelHandlerContext, msg: Any): Unit = {
              connection.bytesArrived()
              ctx.fireChannelRead(msg)
            }
          }, new HttpResponseEncoder(),
          new HttpRequestDecoder(new HttpDecoderConfig()
              .setMaxInitialLineLength(8192).setMaxHeaderSize(config.maxHeaderBytes).setMaxChunkSize(65536)),
          connection)
      }
    })
    .bind(new InetSocketAddress(config.host, config.port)).syncUninterruptibly().channel()

  def port: Int = channel.localAddress().asInstanceOf[InetSocketAddress].getPort

  /** Closes the listening socket and every connection (replies written before are sent first), then its threads. */
  def close(): Unit = {
    channel.close().awaitUninterruptibly(5000)
    connections.close().awaitUninterruptibly(5000)
    group.shutdownGracefully(0, 1000, MILLISECONDS).awaitUninterruptibly(5000)
  }

  private def digest(token: String): Array[Byte] = MessageDigest.getInstance("SHA-256").digest(token.getBytes(UTF_8))

  /** Compares digests (equal length) with MessageDigest.isEqual, whose time does not depend on where they differ. */
  private def matches(expected: Array[Byte], presented: String): Boolean =
    presented != null && MessageDigest.isEqual(expected, digest(presented))

  private def authorized(header: String): Boolean = bearer.forall { expected =>
    header != null && header.regionMatches(true, 0, "Bearer ", 0, 7) && matches(expected, header.substring(7).trim)
  }

  private def response(reply: ServingReply, keepAlive: Boolean): FullHttpResponse = {
    val r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(reply.status),
      Unpooled.wrappedBuffer(reply.body))
    reply.headers.foreach { case (k, v) => r.headers().set(k, v) }
    HttpUtil.setContentLength(r, reply.body.length.toLong)
    r.headers().set(HttpHeaderNames.CONNECTION, if (keepAlive) HttpHeaderValues.KEEP_ALIVE else HttpHeaderValues.CLOSE)
    r
  }

  private sealed trait Route
  private case object Service extends Route
  private case object Status extends Route
  private case object Control extends Route

  /** One connection's state; every method but [[Exchange.respond]]'s caller runs on the connection's event loop. */
  private final class Connection extends ChannelInboundHandlerAdapter {
    private var ctx: ChannelHandlerContext = _
    private var started = false // bytes of a request have come, and it is not read whole yet
    private var closing = false // answered for good: what the client still sends is discarded
    private var inFlight = false // a request waits for its reply
    private var head: HttpRequest = _
    private var route: Route = _
    private var body: ByteArrayOutputStream = _
    private var limit = 0
    private val pipelined = new java.util.ArrayDeque[AnyRef]() // what came while a request was in flight
    private var deadline: ScheduledFuture[_] = _
    private var idle: ScheduledFuture[_] = _

    private def schedule(ms: Long)(f: => Unit): ScheduledFuture[_] =
      ctx.executor().schedule((() => f): Runnable, ms, MILLISECONDS)
    private def cancel(f: ScheduledFuture[_]): Unit = if (f != null) f.cancel(false)
    private def startIdle(): Unit = {
      cancel(idle)
      idle = schedule(config.idleTimeoutMs)(if (!started && !inFlight) ctx.close())
    }

    override def channelActive(ctx: ChannelHandlerContext): Unit = {
      this.ctx = ctx
      connections.add(ctx.channel())
      if (open.incrementAndGet() > config.maxConnections)
        refuse(503, s"the server '${config.name}' has ${config.maxConnections} connections open (maxConnections)",
          config.retryAfter)
      else startIdle()
    }

    override def channelInactive(ctx: ChannelHandlerContext): Unit = {
      open.decrementAndGet()
      cancel(deadline); cancel(idle)
      pipelined.forEach(m => ReferenceCountUtil.release(m))
      pipelined.clear()
      // a request begun and never finished has its outcome too: the client gave up on it
      if (started && !closing) counters.refused(400)
      closing = true
    }

    override def exceptionCaught(ctx: ChannelHandlerContext, cause: Throwable): Unit = cause match {
      case _: IOException => ctx.close() // a reset by the client; channelInactive counts what it cut short
      case other => refuse(500, s"server error: $other")
    }

    def bytesArrived(): Unit = if (!started && !closing && !inFlight) begin()

    private def begin(): Unit = {
      started = true
      cancel(idle)
      deadline = schedule(config.readTimeoutMs)(if (started && !closing) refuse(408,
          s"the request was not read whole within ${config.readTimeoutMs} ms (readTimeoutMs)"))
    }

    override def channelRead(ctx: ChannelHandlerContext, msg: Any): Unit =
      if (inFlight) { // HTTP/1.1 pipelining: taken up once the current request is answered
        pipelined.add(msg.asInstanceOf[AnyRef])
        ctx.channel().config().setAutoRead(false)
      } else try handle(msg)
      finally ReferenceCountUtil.release(msg)

    private def handle(msg: Any): Unit = {
      msg match {
        case r: HttpRequest if !closing => takeHead(r)
        case _ =>
      }
      msg match {
        case c: HttpContent if !closing && head != null => takeContent(c)
        case _ =>
      }
    }

    private def takeHead(r: HttpRequest): Unit = {
      if (!started) begin()
      val failure = r.decoderResult().cause()
      val (path, query) = r.uri().indexOf('?') match {
        case -1 => (r.uri(), null)
        case k => (r.uri().substring(0, k), r.uri().substring(k + 1))
      }
      val version = r.protocolVersion()
      lazy val allowed = if (path == base + "/_status") "GET" else "POST"
      if (failure != null) refuse(failure match {
          case _: TooLongHttpHeaderException => 431
          case _: TooLongHttpLineException => 414
          case _: TooLongFrameException => 431
          case _ => 400
        },
        failure match {
          case _: TooLongHttpHeaderException =>
            s"the request headers are over ${config.maxHeaderBytes} bytes (maxHeaderBytes)"
          case _: TooLongHttpLineException => "the request line is over 8192 bytes"
          case e => s"not a valid HTTP/1.1 request: ${e.getMessage}"
        })
      else if (version != HttpVersion.HTTP_1_1 && version != HttpVersion.HTTP_1_0)
        refuse(505, s"HTTP version ${version.text()} is not supported; use HTTP/1.1 or HTTP/1.0")
      else if (path != base && path != base + "/_status" && path != base + "/_control")
        refuse(404, s"nothing at ${path.take(200)}: this server answers POST $base")
      else if (r.method().name() != allowed)
        refuse(405, s"${r.method().name()} is not allowed on $path: use $allowed", Map("Allow" -> allowed))
      else if (path != base + "/_control" && !authorized(r.headers().get(HttpHeaderNames.AUTHORIZATION)))
        refuse(401, "this server needs the header 'Authorization: Bearer <token>' with its token",
          Map("WWW-Authenticate" -> "Bearer realm=\"irbis\""))
      else {
        route = if (path == base) Service else if (path == base + "/_status") Status else Control
        limit = if (route == Control) 4096 else config.maxBodyBytes
        val declared = HttpUtil.getContentLength(r, -1L)
        if (declared > limit) refuse(413, s"the request body ($declared bytes) is over the limit of $limit bytes")
        else {
          if (HttpUtil.is100ContinueExpected(r)) ctx.writeAndFlush(
            new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE, Unpooled.EMPTY_BUFFER))
          head = r
          body = new ByteArrayOutputStream()
          headPath = path
          headQuery = query
        }
      }
    }

    private var headPath: String = _
    private var headQuery: String = _

    private def takeContent(c: HttpContent): Unit = {
      val bytes: ByteBuf = c.content()
      if (body.size() + bytes.readableBytes() > limit)
        refuse(413, s"the request body is over the limit of $limit bytes")
      else {
        bytes.readBytes(body, bytes.readableBytes())
        if (c.isInstanceOf[LastHttpContent]) complete()
      }
    }

    private def complete(): Unit = {
      started = false
      cancel(deadline)
      val r = head
      head = null
      val keepAlive = HttpUtil.isKeepAlive(r)
      inFlight = true
      route match {
        case Status => // off the event loop: a front's status asks its partitions' servers
          java.util.concurrent.CompletableFuture.runAsync { () =>
            write(try ServingReply.json(200, server.status.toJson)
              catch {
                case scala.util.control.NonFatal(e) => ServingReply.error(500, s"server error: $e")
              }, keepAlive)
          }
        case Control =>
          val reply =
            if (!matches(control, r.headers().get(ServingClient.TokenHeader)))
              ServingReply.error(403, "wrong or missing control token")
            else server.onControl(new String(body.toByteArray, UTF_8))
          write(reply, keepAlive)
        case Service =>
          val headers = r.headers().names().asScala.map { n =>
            n.toLowerCase -> r.headers().getAll(n).asScala.mkString(",")
          }.toMap
          server.onRequest(new Exchange(r.method().name(), headPath, headQuery, headers, body.toByteArray,
              this, keepAlive))
      }
      body = null
    }

    /** Writes an answer (from any thread); then reads the next request, or closes if the client asked so. */
    def write(reply: ServingReply, keepAlive: Boolean, onLost: () => Unit = () => ()): Unit =
      ctx.channel().writeAndFlush(response(reply, keepAlive)).addListener((f: ChannelFuture) =>
        if (!f.isSuccess) { onLost(); f.channel().close() }
        else if (!keepAlive) f.channel().close()
        else answered())

    def isOpen: Boolean = ctx.channel().isActive

    private def answered(): Unit = {
      inFlight = false
      startIdle()
      while (!inFlight && !pipelined.isEmpty) {
        val m = pipelined.poll()
        try handle(m)
        finally ReferenceCountUtil.release(m)
      }
      if (!inFlight) ctx.channel().config().setAutoRead(true)
    }

    /** Answers `status` and closes: counted, once per connection; the rest of the input is read and dropped until the
     * client closes (or `readTimeoutMs` later), so that the client sees the answer, not a reset. */
    private def refuse(status: Int, message: String, extra: Map[String, String] = Map.empty): Unit = if (!closing) {
      counters.refused(status)
      closing = true
      started = false
      head = null
      cancel(deadline); cancel(idle)
      ctx.channel().config().setAutoRead(true)
      ctx.writeAndFlush(response(ServingReply.error(status, message, extra), keepAlive = false))
        .addListener((f: ChannelFuture) =>
          f.channel() match {
            case s: SocketChannel if f.isSuccess =>
              s.shutdownOutput()
              schedule(math.min(config.readTimeoutMs, 2000L))(s.close())
            case c => c.close()
          })
    }
  }

  /** A request read whole, to be answered once through [[respond]] (from any thread). */
  final class Exchange private[HttpTransport] (val method: String, val path: String, val query: String,
                                               val headers: Map[String, String], val body: Array[Byte],
                                               connection: Connection, keepAlive: Boolean) {

    /** Writes `reply`; false (nothing written) if the client has closed its connection. `onLost` runs if the
     * write fails after all. */
    def respond(reply: ServingReply, onLost: () => Unit = () => ()): Boolean =
      connection.isOpen && { connection.write(reply, keepAlive, onLost); true }
  }
}

private[serving] object HttpTransport {
  type Exchange = HttpTransport#Exchange
}
