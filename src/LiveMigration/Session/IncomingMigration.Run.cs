using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using LiveMigration.DeviceSections;
using LiveMigration.Devices;
using LiveMigration.Errors;
using LiveMigration.Multifd;
using LiveMigration.Observability;
using LiveMigration.Ram;
using LiveMigration.ReturnPath;
using LiveMigration.Savevm;
using LiveMigration.Streams;
using LiveMigration.Transports;

namespace LiveMigration;

public sealed partial class IncomingMigration
{
    /// <summary>One incoming migration: accept, load, decide whether to start, tell the source, report.</summary>
    private async Task RunAsync(Func<CancellationToken, ValueTask<MigrationChannel>> open)
    {
        CancellationToken ct = _cancel.Token;
        long start = _time.GetTimestamp();
        var telemetry = new MigrationTelemetryScope(_instruments, MigrationTelemetry.Incoming, MigrationTelemetry.TransportOf(_listener?.Uri), _tags);
        using Activity? activity = telemetry.StartActivity(MigrationTelemetry.IncomingActivityName, ActivityKind.Consumer);
        var ram = new RamLoadHandler(_target.RamBlocks, _options.Verify);
        if (_options.EffectiveMultifdChannels > 0)
        {
            MultifdDialect dialect = MultifdDialect.For(_options.MachineType);
            _multifd = new MultifdReceiver(ram.Blocks, _options.EffectiveMultifdChannels, dialect, _options.StallTimeout, ram.Digests, OnMultifdFault);
            ram.Multifd = _multifd;
            ram.SyncOnEachSection = dialect.SyncOnEachSection;
        }

        IncomingMigrationResult result;
        try
        {
            if (_multifd is not null && _listener is not SocketListener)
                throw new MigrationMultifdException("Multifd takes its channels as further connections to a listening socket: listen on tcp: or unix:");
            MigrationChannel channel = await AcceptAsync(open, ct).ConfigureAwait(false);
            // The total time counts from the connection accepted, not from the listen before it.
            start = _time.GetTimestamp();
            _watch = FurtherConnectionWatch.Start(_listener, _options.HandshakeTimeout, OnMultifdChannel, _multifd is null ? null : AdoptMultifdChannel, _logger);
            await using (channel.ConfigureAwait(false))
                result = await LoadAndHandOverAsync(channel, ram, start, ct).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // A multifd channel seen is why the main channel was cut: that is the error to report.
            Exception error = (_watch?.Detected ?? _multifd?.Error) is { } multifd && !_cancel.IsCancellationRequested ? multifd : TypedFailure(ex);
            string reason = DescribeFailure(error);
            result = Result(ram, start, MigrationStatus.Failed) with { ErrorDescription = reason, Error = error };
            Log.IncomingFailed(_logger, reason, ex);
        }

        if (_watch is { } watch)
            await watch.DisposeAsync().ConfigureAwait(false);
        if (_multifd is { } multifdChannels)
            await multifdChannels.DisposeAsync().ConfigureAwait(false);
        if (_listener is { } listener)
            await listener.DisposeAsync().ConfigureAwait(false);
        RecordLoaded(telemetry, result);
        activity?.SetTag("livemigration.status", result.Status.ToString());
        telemetry.End(activity, MigrationObserver.Outcome(result.Status), result.Error, result.ErrorDescription, result.TotalTime);
        _completion.TrySetResult(result);
    }

    /// <summary>What was loaded, once at the end: the same counters as the source's, tagged incoming.</summary>
    private static void RecordLoaded(MigrationTelemetryScope telemetry, IncomingMigrationResult result)
    {
        MigrationInstruments instruments = telemetry.Instruments;
        Add(instruments.RamTransferred, result.RamBytesLoaded, telemetry.Tags());
        Add(instruments.DiskTransferred, result.DiskBytesLoaded, telemetry.Tags());
        Add(instruments.Pages, result.NormalPages, telemetry.Tags(MigrationTelemetry.PageTypeAttribute, "normal"));
        Add(instruments.Pages, result.ZeroPages, telemetry.Tags(MigrationTelemetry.PageTypeAttribute, "zero"));
        Add(instruments.Pages, result.XbzrlePages, telemetry.Tags(MigrationTelemetry.PageTypeAttribute, "xbzrle"));

        static void Add(System.Diagnostics.Metrics.Counter<long> counter, long value, in TagList tags)
        {
            if (value > 0) counter.Add(value, tags);
        }
    }

    /// <summary>
    /// Loads the stream, decides whether the guest starts, and only then tells a source that opened the
    /// return path: SHUT 0 once the guest is taken, SHUT 1 on any failure, so the source keeps its guest.
    /// </summary>
    private async Task<IncomingMigrationResult> LoadAndHandOverAsync(MigrationChannel channel, RamLoadHandler ram, long start, CancellationToken ct)
    {
        using var returnPath = new ReturnPathSlot(channel, _options.StallTimeout, _time);
        SavevmLoadResult loaded;
        bool started;
        try
        {
            loaded = await LoadAsync(channel, ram, returnPath, ct).ConfigureAwait(false);
            // The main channel's end promises that every channel the source opened has connected by now.
            if (_watch is { } watch && await watch.FinishAsync(ct).ConfigureAwait(false) is { } multifd)
                throw multifd;
            started = await StartGuestIfCompleteAsync(loaded, ct).ConfigureAwait(false);
        }
        catch (Exception) when (returnPath.Writer is { } writer)
        {
            await returnPath.TrySendShutAsync(writer, ReturnPathMessage.ShutRefused, _logger).ConfigureAwait(false);
            throw;
        }

        IncomingMigrationResult result = Result(ram, start, MigrationStatus.Completed) with
        {
            GuestStarted = started,
            MachineType = loaded.MachineType,
            VmDescriptionJson = loaded.VmDescriptionJson,
            UnappliedDevices = loaded.UnappliedDevices,
        };
        Log.IncomingCompleted(_logger, ram.BytesLoaded, result.TotalTime.TotalMilliseconds);
        // The guest is taken: from here on nothing may turn the outcome into a failure. A SHUT that does
        // not arrive leaves the source unconfirmed, and it says so.
        if (returnPath.Writer is { } taken)
            await returnPath.TrySendShutAsync(taken, ReturnPathMessage.ShutTaken, _logger).ConfigureAwait(false);
        return result;
    }

    /// <summary>
    /// Takes the one connection that becomes the migration. A listening socket refuses, and keeps waiting
    /// past, connections that fail before a stream header (a port scan, a failed TLS handshake, garbage,
    /// silence), up to <see cref="IncomingMigrationOptions.MaxRefusedConnections"/>; later ones are refused.
    /// </summary>
    private async Task<MigrationChannel> AcceptAsync(Func<CancellationToken, ValueTask<MigrationChannel>> open, CancellationToken ct)
    {
        bool retry = _listener is { AcceptsMany: true };
        while (true)
        {
            MigrationChannel channel;
            try
            {
                channel = await open(ct).ConfigureAwait(false);
            }
            catch (MigrationTransportException ex) when (retry && !ct.IsCancellationRequested && _refused < _options.MaxRefusedConnections)
            {
                Refuse(ex.Message);
                continue;
            }

            _channel = channel;
            if (ct.IsCancellationRequested) channel.Abort();
            string? refusal;
            try
            {
                refusal = retry ? await CheckHeaderAsync(channel, ct).ConfigureAwait(false) : null;
            }
            catch (MigrationMultifdException) when (_multifd is not null)
            {
                // A multifd channel may come before the main one: it is kept, and the wait goes on.
                AdoptMultifdChannel(channel);
                _channel = null;
                continue;
            }
            catch (MigrationMultifdException)
            {
                await channel.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            if (refusal is null)
            {
                // A listening socket stays open while the stream loads, so a multifd source's further
                // connections are seen (FurtherConnectionWatch); any other listener is done.
                if (_listener is { } accepted and not SocketListener)
                    await accepted.DisposeAsync().ConfigureAwait(false);
                return channel;
            }

            await channel.DisposeAsync().ConfigureAwait(false);
            if (_refused >= _options.MaxRefusedConnections)
                throw new MigrationStreamException($"{refusal}; that was the last of {_options.MaxRefusedConnections} connections this destination refuses");
            Refuse(refusal);
        }
    }

    private void Refuse(string reason)
    {
        _refused++;
        Log.ConnectionRefused(_logger, _refused, reason);
    }

    /// <summary>
    /// Waits, within the handshake timeout, for a connection's first eight bytes and checks that they open
    /// a migration stream (magic and version), without consuming them. Null when they do; else why not.
    /// </summary>
    private async Task<string?> CheckHeaderAsync(MigrationChannel channel, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(_options.HandshakeTimeout);
        PipeReader input = channel.Input;
        try
        {
            while (true)
            {
                ReadResult read = await input.ReadAsync(deadline.Token).ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = read.Buffer;
                if (buffer.Length >= SavevmFormat.HeaderLength)
                {
                    Span<byte> header = stackalloc byte[SavevmFormat.HeaderLength];
                    buffer.Slice(0, SavevmFormat.HeaderLength).CopyTo(header);
                    // Nothing consumed and nothing examined: the loader reads these bytes again at once.
                    input.AdvanceTo(buffer.Start);
                    // A multifd channel ahead of the main one: its source sends pages this side cannot take.
                    if (MultifdFormat.IsMultifdChannel(header))
                        throw MultifdMismatch.ChannelOpened(channel.Description, 1);
                    return SavevmFormat.IsStreamHeader(header) ? null : $"{channel.Description} sent bytes that do not open a migration stream";
                }

                input.AdvanceTo(buffer.Start, buffer.End);
                if (read.IsCompleted || read.IsCanceled)
                    return $"{channel.Description} closed before sending a stream header";
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return $"{channel.Description} sent no stream header within the handshake timeout of {_options.HandshakeTimeout.TotalSeconds:0.###} s";
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or MigrationTransportException)
        {
            return $"{channel.Description} failed before sending a stream header: {ex.Message}";
        }
    }

    /// <summary>
    /// Loads the whole stream into the registered loaders, within the handshake deadline for its header,
    /// answering pings once the source has opened the return path.
    /// </summary>
    private async Task<SavevmLoadResult> LoadAsync(MigrationChannel channel, RamLoadHandler ram, ReturnPathSlot returnPath, CancellationToken ct)
    {
        using var reader = new MigrationReader(channel.Input)
        {
            StallTimeout = _options.StallTimeout,
            MinimumRateBytesPerSecond = _options.MinimumRateBytesPerSecond,
            MinimumRateWindow = _options.MinimumRateWindow,
            MinimumRateSetting = $"{nameof(IncomingMigrationOptions)}.{nameof(IncomingMigrationOptions.MinimumRateBytesPerSecond)}",
            TimeProvider = _time,
        };
        using ITimer handshake = HeaderDeadline(reader, channel);
        var loader = new SavevmLoader(reader, CreateRegistry(ram), _options.MachineType)
        {
            DecodeUnknownDeviceSections = _options.DecodeUnknownDeviceSections,
            ExpectVerify = _options.Verify,
            OpenReturnPath = channel.IsConversation ? returnPath.OpenAsync : null,
            AnswerPing = returnPath.AnswerPingAsync,
        };
        return await loader.LoadAsync(ct).ConfigureAwait(false);
    }

    /// <summary>The loaders in the sender's order: RAM, the verify section, the disks, device states, the host's own.</summary>
    private SavevmRegistry<ISectionLoader> CreateRegistry(RamLoadHandler ram)
    {
        var registry = new SavevmRegistry<ISectionLoader>();
        registry.Register(ram);
        if (ram.Digests is { } digests)
            registry.Register(new RamVerifyHandler(ram.Blocks, digests));
        _blockLoad = new Block.BlockLoadHandler(_target.Disks, _options.MaxDiskWriteFactor);
        registry.Register(_blockLoad);
        foreach (IDeviceState state in _target.DeviceStates)
            registry.Register(new DeviceStateHandler(state));
        foreach (ISectionLoader section in _options.AdditionalSections)
            registry.Register(section);
        return registry;
    }

    /// <summary>
    /// With autostart, starts the guest of a complete load. Device state that could only be decoded, not
    /// applied, would have the guest run from the wrong state: with autostart that fails the migration,
    /// without it (QEMU's <c>-S</c>) the load is complete and the host decides.
    /// </summary>
    private async Task<bool> StartGuestIfCompleteAsync(SavevmLoadResult loaded, CancellationToken ct)
    {
        if (loaded.UnappliedDevices.Count > 0)
        {
            string devices = string.Join(", ", loaded.UnappliedDevices.Select(d => $"'{StreamText.Escape(d.IdStr)}'"));
            if (_options.Autostart)
            {
                throw new MigrationException(
                    $"The device state of {devices} could only be decoded, not applied: no device here loads it, so the guest cannot start. Register those devices, or turn autostart off to take the state without running it");
            }

            Log.IncomingDevicesNotApplied(_logger, loaded.UnappliedDevices.Count, devices);
        }

        if (!_options.Autostart)
            return false;
        await _target.StartGuestAsync(ct).ConfigureAwait(false);
        return true;
    }

    /// <summary>A further connection opened a multifd channel: the main channel is cut, so the load fails now.</summary>
    private void OnMultifdChannel(MigrationMultifdException error)
    {
        Log.MultifdChannelRefused(_logger, error.Message);
        _channel?.Abort();
    }

    /// <summary>Hands a connection that opened with the multifd magic to the multifd channels.</summary>
    private void AdoptMultifdChannel(MigrationChannel channel) => _multifd!.Adopt(channel.Input, channel.DirectInput, channel.Description, channel);

    /// <summary>A multifd channel failed: the main channel is cut, so the load fails with that channel's error.</summary>
    private void OnMultifdFault(Exception error)
    {
        Log.MultifdChannelRefused(_logger, error.Message);
        _channel?.Abort();
    }

    /// <summary>Drops a connection that has not sent the stream header (magic and version) in time.</summary>
    private ITimer HeaderDeadline(MigrationReader reader, MigrationChannel channel) => _time.CreateTimer(_ =>
    {
        if (reader.BytesRead >= 8) return;
        _handshakeExpired = true;
        channel.Abort();
        reader.Shutdown();
    }, null, _options.HandshakeTimeout, Timeout.InfiniteTimeSpan);

    /// <summary>
    /// The error a host can branch on: a cancel as <see cref="OperationCanceledException"/> whatever the aborted
    /// channel threw on the way, a broken socket as a transport error, anything else as it was thrown.
    /// </summary>
    private Exception TypedFailure(Exception ex) => ex switch
    {
        OperationCanceledException when _cancel.IsCancellationRequested => ex,
        _ when _cancel.IsCancellationRequested && !_handshakeExpired => new OperationCanceledException("The incoming migration was cancelled.", ex, _cancel.Token),
        IOException or System.Net.Sockets.SocketException => new MigrationTransportException($"I/O error on the migration channel: {ex.Message}", ex),
        _ => ex,
    };

    private string DescribeFailure(Exception ex) =>
        ex is OperationCanceledException && _cancel.IsCancellationRequested
            ? "The incoming migration was cancelled."
            : _handshakeExpired
            ? $"The source sent no stream header within the handshake timeout of {_options.HandshakeTimeout.TotalSeconds:0.###} s."
            : ex is MigrationException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}";
}
