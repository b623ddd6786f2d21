using LiveMigration.Errors;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>Where a handover is made to fail.</summary>
internal enum HandoverPoint
{
    /// <summary>Nothing fails.</summary>
    None,

    /// <summary>Nobody listens where the source connects.</summary>
    BeforeFirstByte,

    /// <summary>A source without TLS connects to a destination that requires it.</summary>
    PlaintextToTls,

    /// <summary>A TLS source connects to a destination without TLS.</summary>
    TlsToPlaintext,

    /// <summary>The source's client certificate comes from a CA the destination does not trust.</summary>
    ForeignCa,

    /// <summary>The destination's RAM block has another size.</summary>
    BlockSizeMismatch,

    /// <summary>The connection dies both ways in the middle of the stream.</summary>
    DestinationKilledMidStream,

    /// <summary>A byte of page data changes on the way: verify catches it after EOF.</summary>
    DigestMismatch,

    /// <summary>The destination loaded everything, but its host cannot start the guest.</summary>
    StartGuestThrows,

    /// <summary>The connection is cut after the last byte of the stream and before SHUT reaches the source.</summary>
    CutBeforeShut,

    /// <summary>SHUT is lost and the connection stays open: the source waits out its handover timeout.</summary>
    ShutLost,
}

/// <summary>The three outcomes a handover may have, as seen from both guests (not as the session reports it).</summary>
internal enum GuestOwner
{
    SourceRuns,
    DestinationRuns,
    Unconfirmed,

    /// <summary>Never allowed: both run, or neither does without the unconfirmed outcome.</summary>
    Broken,
}

/// <summary>One row of the handover matrix: a failure point over a transport, with or without TLS and verify.</summary>
internal sealed record HandoverCase(HandoverPoint Point, string Transport, bool Tls, bool Verify)
{
    /// <summary>Every case: each point over tcp and unix, with and without TLS and verify, where the point applies.</summary>
    public static IEnumerable<HandoverCase> All(bool processes = false)
    {
        foreach (string transport in new[] { "tcp", "unix" })
        {
            foreach (bool tls in new[] { false, true })
            {
                foreach (bool verify in new[] { false, true })
                {
                    foreach (HandoverPoint point in Enum.GetValues<HandoverPoint>())
                    {
                        if (point == HandoverPoint.BeforeFirstByte && transport == "unix")
                            continue; // a closed tcp port is the case; unix adds nothing
                        if (point is HandoverPoint.PlaintextToTls or HandoverPoint.TlsToPlaintext or HandoverPoint.ForeignCa && !tls)
                            continue; // TLS on one side only: one case each, listed under TLS
                        if (point == HandoverPoint.DigestMismatch && !verify)
                            continue;
                        if (point == HandoverPoint.StartGuestThrows && processes)
                            continue; // livemig's guest always starts
                        yield return new HandoverCase(point, transport, tls, verify);
                    }
                }
            }
        }
    }

    public bool SourceTls => Point == HandoverPoint.TlsToPlaintext || (Tls && Point != HandoverPoint.PlaintextToTls);

    public bool DestinationTls => Point == HandoverPoint.PlaintextToTls || (Tls && Point != HandoverPoint.TlsToPlaintext);

    /// <summary>
    /// Cases where the destination may refuse the connection and keep waiting for the real source. A cut
    /// can land while the destination still checks the client's certificate (a TLS 1.3 client sends as soon
    /// as its own side is done): that connection never brought a stream, so it is refused too.
    /// </summary>
    public bool DestinationKeepsWaiting => Point is HandoverPoint.BeforeFirstByte or HandoverPoint.PlaintextToTls or HandoverPoint.TlsToPlaintext
        or HandoverPoint.ForeignCa or HandoverPoint.DestinationKilledMidStream;

    public RelayFault RelayFault => Point switch
    {
        HandoverPoint.DestinationKilledMidStream => RelayFault.CutMidStream,
        HandoverPoint.DigestMismatch => RelayFault.FlipByte,
        HandoverPoint.ShutLost => RelayFault.HoldSourceOpen,
        _ => RelayFault.None,
    };

    /// <summary>What the destination's own stream does with its SHUT: the faults a relay cannot make above TLS.</summary>
    public ShutHandling? DestinationShut => Point switch
    {
        HandoverPoint.CutBeforeShut => ShutHandling.Cut,
        HandoverPoint.ShutLost => ShutHandling.Drop,
        _ => null,
    };

    /// <summary>Where the relay cuts or flips: 1 MiB in (long before a 32 MiB stream can be buffered), or 8 MiB into page data.</summary>
    public long FaultOffset => Point == HandoverPoint.DigestMismatch ? 8L << 20 : 1L << 20;

    /// <summary>Refusals before the stream, where the source must never even pause its guest.</summary>
    public bool RefusedBeforeSwitchover => Point is HandoverPoint.BeforeFirstByte or HandoverPoint.PlaintextToTls or HandoverPoint.TlsToPlaintext
        or HandoverPoint.ForeignCa or HandoverPoint.BlockSizeMismatch;

    public GuestOwner Expected => Point switch
    {
        HandoverPoint.None => GuestOwner.DestinationRuns,
        HandoverPoint.CutBeforeShut or HandoverPoint.ShutLost => GuestOwner.Unconfirmed,
        _ => GuestOwner.SourceRuns,
    };

    public override string ToString() => $"{Point} over {Transport}{(Tls ? " +tls" : "")}{(Verify ? " +verify" : "")}";
}

/// <summary>What one case ended with, on both sides.</summary>
internal sealed record HandoverRow(HandoverCase Case, string SourceStatus, bool SourcePaused, int SourcePauses, string DestinationStatus, bool DestinationStarted, string Detail)
{
    public HandoverRow(HandoverCase scenario, MigrationInfo info, bool sourcePaused, int pauses, IncomingMigrationResult result, bool started)
        : this(scenario, info.Status.ToString(), sourcePaused, pauses, result.Status.ToString(), started, info.ErrorDescription ?? result.ErrorDescription ?? "")
    {
        SourceInfo = info;
    }

    /// <summary>The source's final info, when the session ran in this process; its typed outcome is checked against the guests.</summary>
    public MigrationInfo? SourceInfo { get; init; }

    /// <summary>What the session says became of the guest, for the guests' own account of it.</summary>
    public HandoverOutcome ExpectedHandover => Outcome switch
    {
        GuestOwner.DestinationRuns => HandoverOutcome.Completed,
        GuestOwner.Unconfirmed => HandoverOutcome.Unconfirmed,
        // Paused and resumed: the switchover came; never paused: the migration ended before it.
        _ => SourcePauses > 0 ? HandoverOutcome.FailedSourceRunning : HandoverOutcome.None,
    };

    public GuestOwner Outcome => (SourceStatus, SourcePaused, DestinationStarted) switch
    {
        ("Failed", false, false) => GuestOwner.SourceRuns,
        ("Completed", true, true) => GuestOwner.DestinationRuns,
        ("Unconfirmed", true, _) => GuestOwner.Unconfirmed,
        _ => GuestOwner.Broken,
    };

    public void AssertExpected(bool checkPauses = true)
    {
        Assert.That(Outcome, Is.EqualTo(Case.Expected), $"{Case}: source {SourceStatus} (paused {SourcePaused}), destination {DestinationStatus} (started {DestinationStarted}): {Detail}");
        if (checkPauses && Case.RefusedBeforeSwitchover)
            Assert.That(SourcePauses, Is.Zero, $"{Case}: a refused source must never pause its guest");
        if (SourceInfo is not { } info)
            return;
        Assert.That(info.Handover, Is.EqualTo(ExpectedHandover), $"{Case}: the handover outcome the session reports");
        if (info.Status == MigrationStatus.Completed)
        {
            Assert.That(info.Error, Is.Null, $"{Case}: a completed migration has no error");
            Assert.That(info.EnsureCompleted(), Is.SameAs(info));
        }
        else
        {
            Type expected = info.Status == MigrationStatus.Unconfirmed ? typeof(MigrationHandoverUnconfirmedException) : typeof(MigrationException);
            Assert.That(info.Error, Is.InstanceOf(expected), $"{Case}: the typed error");
            Assert.That(() => info.EnsureCompleted(), Throws.Exception.SameAs(info.Error), $"{Case}: EnsureCompleted throws the typed error");
        }
    }

    public static void Print(IReadOnlyList<HandoverRow> rows)
    {
        TestContext.Out.WriteLine($"{"case",-48} {"source",-12} {"paused",-7} {"pauses",-7} {"destination",-12} {"started",-8} outcome");
        foreach (HandoverRow row in rows)
        {
            TestContext.Out.WriteLine(
                $"{row.Case,-48} {row.SourceStatus,-12} {row.SourcePaused,-7} {row.SourcePauses,-7} {row.DestinationStatus,-12} {row.DestinationStarted,-8} {Describe(row.Outcome)}");
        }
    }

    private static string Describe(GuestOwner outcome) => outcome switch
    {
        GuestOwner.SourceRuns => "source runs, destination does not",
        GuestOwner.DestinationRuns => "destination runs, source stays paused",
        GuestOwner.Unconfirmed => "unconfirmed: source paused, destination says what it did",
        _ => "BROKEN",
    };
}
