"""The enums of the v3 API, spelled as Lemmy spells them on the wire."""

from enum import StrEnum


class ListingType(StrEnum):
    ALL = "All"
    LOCAL = "Local"
    SUBSCRIBED = "Subscribed"
    MODERATOR_VIEW = "ModeratorView"


class SortType(StrEnum):
    ACTIVE = "Active"
    HOT = "Hot"
    NEW = "New"
    OLD = "Old"
    TOP_DAY = "TopDay"
    TOP_WEEK = "TopWeek"
    TOP_MONTH = "TopMonth"
    TOP_YEAR = "TopYear"
    TOP_ALL = "TopAll"
    MOST_COMMENTS = "MostComments"
    NEW_COMMENTS = "NewComments"
    TOP_HOUR = "TopHour"
    TOP_SIX_HOUR = "TopSixHour"
    TOP_TWELVE_HOUR = "TopTwelveHour"
    TOP_THREE_MONTHS = "TopThreeMonths"
    TOP_SIX_MONTHS = "TopSixMonths"
    TOP_NINE_MONTHS = "TopNineMonths"
    CONTROVERSIAL = "Controversial"
    SCALED = "Scaled"


class CommentSortType(StrEnum):
    HOT = "Hot"
    TOP = "Top"
    NEW = "New"
    OLD = "Old"
    CONTROVERSIAL = "Controversial"


class SearchType(StrEnum):
    ALL = "All"
    COMMENTS = "Comments"
    POSTS = "Posts"
    COMMUNITIES = "Communities"
    USERS = "Users"
    URL = "Url"


class SubscribedType(StrEnum):
    SUBSCRIBED = "Subscribed"
    NOT_SUBSCRIBED = "NotSubscribed"
    PENDING = "Pending"


class RegistrationMode(StrEnum):
    CLOSED = "Closed"
    REQUIRE_APPLICATION = "RequireApplication"
    OPEN = "Open"


class CommunityVisibility(StrEnum):
    PUBLIC = "Public"
    LOCAL_ONLY = "LocalOnly"


class PostListingMode(StrEnum):
    LIST = "List"
    CARD = "Card"
    SMALL_CARD = "SmallCard"


class PostFeatureType(StrEnum):
    LOCAL = "Local"
    COMMUNITY = "Community"
